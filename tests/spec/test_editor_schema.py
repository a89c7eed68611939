"""The editor schema as editors see it: the real yaml-language-server, spoken to over LSP on stdio, checks
specs through their ``# yaml-language-server: $schema=tlspec.schema.json`` line.

`make setup` installs the server into build/editor when npm is there (`make editor-server` alone);
without node or the server these tests are skipped. One server serves the whole module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading

import pytest

from helpers import REPO, SPECS
from tlspec.plugin.manager import default_registry
from tlspec.spec.language import OPTIMIZERS, TrainSpec

SERVER = REPO / "build" / "editor" / "node_modules" / ".bin" / "yaml-language-server"
MODELINE = "# yaml-language-server: $schema=tlspec.schema.json\n"
TIMEOUT = 15  # seconds for any one answer: a hung server fails the test instead of hanging it
SETTINGS = {"yaml": {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False}}}
REGISTRY = default_registry()


class LanguageServer:
    """A language server process and the JSON-RPC messages exchanged with it."""

    def __init__(self, command: list[str]):
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors)
        self.arrived = threading.Condition()
        self.responses: dict[int, dict] = {}
        self.diagnostics: dict[str, list[dict]] = {}
        self.ended = False
        self.last_id = 0
        self.writing = threading.Lock()
        threading.Thread(target=self._read_messages, daemon=True).start()

    def request(self, method: str, params: dict):
        self.last_id += 1
        number = self.last_id
        self._send({"id": number, "method": method, "params": params})
        self._wait(lambda: number in self.responses, f"no answer to {method}")
        return self.responses.pop(number).get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"method": method, "params": params})

    def open(self, uri: str, text: str) -> None:
        """Open a document; it need not exist on disk."""
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                              "text": text}})

    def diagnostics_of(self, uri: str) -> list[dict]:
        """The diagnostics the server published for an open document."""
        self._wait(lambda: uri in self.diagnostics, f"no diagnostics for {uri}")
        return self.diagnostics[uri]

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.process.wait(TIMEOUT)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        with self.writing:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.process.stdin.flush()

    def _read_messages(self) -> None:
        while (message := self._read_message()) is not None:
            with self.arrived:
                if "id" in message and "method" in message:  # the server asks (e.g. registerCapability)
                    self._send({"id": message["id"], "result": None})
                elif "id" in message:
                    self.responses[message["id"]] = message
                elif message.get("method") == "textDocument/publishDiagnostics":
                    self.diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
                self.arrived.notify_all()
        with self.arrived:
            self.ended = True
            self.arrived.notify_all()

    def _read_message(self) -> dict | None:
        length = None
        while (line := self.process.stdout.readline()).strip():
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return None if length is None else json.loads(self.process.stdout.read(length))

    def _wait(self, ready, what: str) -> None:
        with self.arrived:
            self.arrived.wait_for(lambda: ready() or self.ended, TIMEOUT)
            if not ready():
                self.errors.seek(0)
                state = "exited" if self.ended else f"sent nothing in {TIMEOUT} s"
                raise AssertionError(f"yaml-language-server {state}: {what}\n{self.errors.read().decode()[-2000:]}")


@pytest.fixture(scope="module")
def server():
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the editor's yaml-language-server runs on it")
    if not SERVER.exists():
        pytest.skip("yaml-language-server is not installed: run `make editor-server` (needs npm)")
    server = LanguageServer([str(SERVER), "--stdio"])
    try:
        server.request("initialize", {"processId": None, "rootUri": SPECS.as_uri(), "capabilities": {}})
        server.notify("initialized", {})
        server.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})
        yield server
    finally:
        server.close()


def problems(server: LanguageServer, uri: str) -> list[tuple[int, str]]:
    """(1-based line, message) of each diagnostic of an open document."""
    return [(d["range"]["start"]["line"] + 1, d["message"]) for d in server.diagnostics_of(uri)]


def test_no_diagnostic_on_any_shipped_spec(server):
    paths = sorted(SPECS.glob("*.yaml"))
    for path in paths:  # all at once: the server validates them together
        server.open(path.as_uri(), path.read_text(encoding="utf-8"))
    found = {path.name: problems(server, path.as_uri()) for path in paths}
    assert found == {path.name: [] for path in paths}


# --- broken specs: one diagnostic, on the line marked '# here', listing every choice ------------------------

def fields(kind: str, *names: str) -> list[str]:
    """The keys a section of these plugins may have, as tlspec validate lists them."""
    models = [REGISTRY.get(kind, name).config_model for name in names or REGISTRY.names(kind)]
    return sorted({field.alias or key for model in models for key, field in model.model_fields.items()})


def quoted(names) -> str:
    return ", ".join(repr(name) for name in names)


def needing_no_options(kind: str) -> list[str]:
    return [name for name in REGISTRY.names(kind)
            if not any(field.is_required() for key, field in REGISTRY.get(kind, name).config_model.model_fields.items()
                       if key != "plugin")]


SPEC = """\
tlspec: 1
name: broken
backbone: {plugin: mlp, from: inputs.x, units: [4]}
inputs: {x: {shape: [3]}}
heads:
  - {name: first, plugin: regression}
  - {name: second, plugin: regression}
train: {optimizer: adam, epochs: 2}
"""
BROKEN = {
    "unknown plugin option": (
        SPEC.replace("units: [4]}", "units: [4], activaton: relu}  # here"),
        f"unknown field; allowed fields: {quoted(fields('backbone', 'mlp'))}"),
    "unknown core key": (
        SPEC.replace("epochs: 2}", "epochs: 2, epoch: 3}  # here"),
        f"unknown field; allowed fields: {quoted(sorted(TrainSpec.model_fields))}"),
    "wrong type of a core field": (
        SPEC.replace("epochs: 2}", "epochs: two}  # here"),
        'Incorrect type. Expected "integer".'),
    "wrong type of a plugin option": (
        SPEC.replace("units: [4]}", "units: four}  # here"),
        'Incorrect type. Expected "array".'),
    "unknown backbone plugin": (
        SPEC.replace("plugin: mlp, from: inputs.x, units: [4]}", "plugin: mpl, from: inputs.x, units: [4]}  # here"),
        f"unknown backbone plugin; installed backbone plugins: {quoted(REGISTRY.names('backbone'))}"),
    "unknown plugin of the second head": (
        SPEC.replace("{name: second, plugin: regression}", "{name: second, plugin: regresion}  # here"),
        f"unknown head plugin; installed head plugins: {quoted(REGISTRY.names('head'))}"),
    "freeze shorthand of a policy that needs options": (
        SPEC + "freeze: until  # here\n",
        f"Value is not accepted. Valid values: {', '.join(json.dumps(n) for n in needing_no_options('freeze'))}."),
    "unknown optimizer": (
        SPEC.replace("train: {optimizer: adam, epochs: 2}", "train: {optimizer: adamm, epochs: 2}  # here"),
        f"Value is not accepted. Valid values: {', '.join(json.dumps(n) for n in OPTIMIZERS)}."),
    "unknown key where an extending spec changes its parent's backbone": (
        "extends: quickstart_source.yaml\nbackbone:\n  filtres: [8]  # here\n",
        f"unknown field; fields of backbone plugins: {quoted(fields('backbone'))}"),
    "wrong type where an extending spec names the plugin": (
        "extends: quickstart_source.yaml\nbackbone:\n  plugin: small_cnn\n  filters: many  # here\n",
        'Incorrect type. Expected "array".'),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_spec_gets_one_diagnostic_listing_the_choices(server, case):
    text, message = BROKEN[case]
    text = MODELINE + text
    marked = next(number for number, line in enumerate(text.splitlines(), start=1) if line.endswith("# here"))
    uri = (SPECS / f"broken-{case.replace(' ', '-')}.yaml").as_uri()
    server.open(uri, text)
    assert problems(server, uri) == [(marked, message)]


def test_an_extending_spec_changes_heads_and_phases_by_name_alone(server):
    text = MODELINE + ("extends: urdu_from_hindi.yaml\n"  # no plugin, classes or epochs: the parent has them
                       "heads:\n  - {name: sentiment, dropout: 0.5}\n"
                       "train:\n  phases:\n    - {name: fine_tune, learning_rate: 1.0e-4}\n")
    uri = (SPECS / "extending-by-name.yaml").as_uri()
    server.open(uri, text)
    assert problems(server, uri) == []


# --- completion ---------------------------------------------------------------------------------------------

def complete(server, name: str, text: str) -> list[str]:
    """Labels offered at the end of ``text`` (its last line is where the cursor is)."""
    uri = (SPECS / f"completing-{name}.yaml").as_uri()
    server.open(uri, MODELINE + text)
    lines = (MODELINE + text).split("\n")
    position = {"line": len(lines) - 1, "character": len(lines[-1])}
    result = server.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": position})
    return [item["label"] for item in (result["items"] if isinstance(result, dict) else result)]


START = "tlspec: 1\nname: x\nbackbone: {plugin: mlp, units: [4]}\n"
INTERNAL_NAMES = {f"{kind}_{name}" for kind in REGISTRY.records for name in REGISTRY.names(kind)}  # head_classifier


def test_completing_a_plugin_name_offers_the_installed_plugins(server):
    text = START + "heads:\n  - name: out\n    plugin: "
    assert sorted(complete(server, "head-plugin", text)) == REGISTRY.names("head")


def test_completing_plugin_options_offers_no_internal_titles(server):
    text = START + "heads:\n  - name: out\n    plugin: classifier\n    "
    labels = complete(server, "head-options", text)
    assert set(fields("head", "classifier")) - {"name", "plugin"} <= set(labels)
    assert not INTERNAL_NAMES & set(labels), labels


def test_completing_the_freeze_shorthand_offers_only_policies_without_options(server):
    text = START + "heads: [{name: out, plugin: regression}]\nfreeze: "
    assert sorted(complete(server, "freeze", text)) == needing_no_options("freeze")
