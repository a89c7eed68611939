# One-command setup and runs. Everything is installed into .venv from this repo's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup quickstart test test-fast bench schema clean

setup: $(STAMP)

$(STAMP): pyproject.toml plugins/tlspec-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e plugins/tlspec-example
	touch $(STAMP)

# The main job: validate the quickstart spec (no TensorFlow), then build it and draw its graph.
quickstart: setup
	$(BIN)/tlspec validate specs/quickstart.yaml
	$(BIN)/tlspec build specs/quickstart.yaml --plot runs/quickstart.png

# Everything: fast tests, slow ones, and acceptance tests on ../shared/data when it is present.
test: setup
	$(BIN)/python -m pytest -q

# The quick loop while developing (under a minute or two).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not acceptance"

bench: setup
	$(BIN)/python bench/build_and_validate.py

# Regenerate the editor schema the example specs point at.
schema: setup
	$(BIN)/tlspec schema -o specs/tlspec.schema.json

clean:
	rm -rf $(VENV) runs .pytest_cache
