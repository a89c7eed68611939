# One-command setup and runs. Everything is installed into .venv from this repo's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EDITOR := build/editor
EDITOR_SERVER_VERSION := 1.25.0
EDITOR_STAMP := $(EDITOR)/.installed-$(EDITOR_SERVER_VERSION)

.PHONY: setup quickstart test test-fast lint bench schema editor-server browser clean

# Setup also installs the editor server where npm can, and a headless browser where apt-get can; without
# them (no npm, no root, offline) their tests are skipped.
setup: $(STAMP)
	@if command -v npm >/dev/null && [ ! -e $(EDITOR_STAMP) ]; then $(MAKE) --no-print-directory editor-server \
	  || echo "editor server not installed: tests/spec/test_editor_schema.py will be skipped"; fi
	@$(MAKE) --no-print-directory browser

# Debian's chromium, which tests/runs/test_report.py opens the HTML report in.
browser:
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium (for the report test)"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	   || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	       chromium >/dev/null)) || echo "chromium not installed: tests/runs/test_report.py will be skipped"; fi

$(STAMP): pyproject.toml plugins/tlspec-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e plugins/tlspec-example
	touch $(STAMP)

# The main job: pretrain a small CNN on generated shapes, transfer its frozen features to another
# task with 8 labels per class, train the same network from scratch on those labels, compare.
QUICKSTART_RUNS := runs/quickstart-source runs/quickstart-transfer runs/quickstart-scratch
quickstart: setup
	rm -rf $(QUICKSTART_RUNS)
	$(BIN)/tlspec train specs/quickstart_source.yaml --out runs/quickstart-source --quiet
	$(BIN)/tlspec train specs/quickstart_transfer.yaml --out runs/quickstart-transfer --quiet
	$(BIN)/tlspec train specs/quickstart_scratch.yaml --out runs/quickstart-scratch --quiet
	@echo; echo "Target task (8 labels per class), pretrained backbone, frozen:"
	@$(BIN)/tlspec evaluate runs/quickstart-transfer --split test
	@echo "Target task (8 labels per class), the same network from scratch:"
	@$(BIN)/tlspec evaluate runs/quickstart-scratch --split test

# Everything: fast tests, slow ones, and acceptance tests on ../shared/data when it is present; the 25
# slowest are listed, to keep CI well inside its limit.
test: setup
	$(BIN)/python -m pytest -q --durations=25

# Lint and import order (configured in pyproject.toml); .ci/run runs it before the tests.
lint: setup
	$(BIN)/ruff check .

# The quick loop while developing (under a minute or two).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not acceptance"

bench: setup
	$(BIN)/python bench/build_and_validate.py

# Regenerate the editor schema the example specs point at.
schema: setup
	$(BIN)/tlspec schema -o specs/tlspec.schema.json

# The YAML language server editors run on specs/*.yaml; tests/spec/test_editor_schema.py drives it.
editor-server: $(EDITOR_STAMP)

$(EDITOR_STAMP):
	npm install --prefix $(EDITOR) --save-exact --no-audit --no-fund yaml-language-server@$(EDITOR_SERVER_VERSION)
	touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache $(EDITOR)
