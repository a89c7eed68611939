"""A repeated `tlspec validate` answers from its last result only while nothing the check read has changed."""

import json
import os
import shutil
import subprocess
import sys
import time

from helpers import cnn_spec, make_image_folder, run_cli
from tlspec.cli.validate_cache import ValidationCache
from tlspec.plugin.paths import resolve_spec_path

REPLAYED = ", unchanged since it was last checked)"
PROBE = """
import sys
from tlspec.cli import main
code = main(sys.argv[1:])
print("IMPORTED=" + ",".join(m for m in ("pydantic", "yaml", "tlspec_builtins") if m in sys.modules))
"""


def age(root, recursive=True):
    """Date ``root`` (and what is under it) 5 s back, each call a new time: a check does not keep what it read
    within validate_cache.RACY_SECONDS of its start. Only what a step changed is dated again."""
    when = time.time_ns() - 5_000_000_000
    for path in [root, *(root.rglob("*") if recursive and root.is_dir() else [])]:
        os.utime(path, ns=(when, when))


def validate(tmp_path, *args):
    env = dict(os.environ, TLSPEC_CACHE=str(tmp_path / "cache"))
    return run_cli("validate", "spec.yaml", *args, cwd=tmp_path, env=env)


def test_a_second_validate_replays_the_first_until_the_data_or_the_spec_changes(write_spec, image_data, tmp_path):
    cnn_spec(write_spec)
    # Made before the check: a folder created in the working folder while a check runs (which Python lists
    # to import from it) keeps that check from being stored.
    (tmp_path / "cache").mkdir()
    age(tmp_path)
    first, second = validate(tmp_path), validate(tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    summary = "spec.yaml: valid — backbone small_cnn, heads: animal, freeze: all ("
    assert first.stdout.startswith(summary) and REPLAYED not in first.stdout
    assert second.stdout.startswith(summary) and second.stdout.rstrip().endswith(REPLAYED)
    assert REPLAYED not in validate(tmp_path, "--no-cache").stdout
    probe = [sys.executable, "-c", PROBE, "validate", "spec.yaml"]  # a sys.path of its own: a key of its own
    env = dict(os.environ, TLSPEC_CACHE=str(tmp_path / "cache"))
    checked, replayed = (subprocess.run(probe, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
                         for _ in range(2))
    assert checked.stdout.splitlines()[1] == "IMPORTED=pydantic,yaml,tlspec_builtins"
    assert replayed.stdout.splitlines()[0].endswith(REPLAYED)
    assert replayed.stdout.splitlines()[1] == "IMPORTED="  # no spec parser, no validator, no plugin

    shutil.rmtree(image_data / "test")  # a folder the check listed
    age(image_data, recursive=False)
    gone = validate(tmp_path)
    assert gone.returncode == 2 and "images/test" in gone.stderr, gone.stdout + gone.stderr
    assert validate(tmp_path).returncode == 2  # a spec with problems is never stored
    make_image_folder(image_data / "test", {"cat": 8, "dog": 8}, seed=2)
    age(image_data / "test")
    age(image_data, recursive=False)
    back = validate(tmp_path)
    assert back.returncode == 0 and REPLAYED not in back.stdout

    (tmp_path / "spec.yaml").write_text((tmp_path / "spec.yaml").read_text().replace("seed: 5", "seed: 6"))
    age(tmp_path / "spec.yaml")
    edited = validate(tmp_path)
    assert edited.returncode == 0 and REPLAYED not in edited.stdout
    assert validate(tmp_path).stdout.rstrip().endswith(REPLAYED)
    assert REPLAYED not in validate(tmp_path, "--set", "train.batch_size=4").stdout  # other arguments


def test_what_a_check_reads_is_recorded_and_what_it_writes_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    listed, written, named = tmp_path / "listed", tmp_path / "written.txt", tmp_path / "weights.h5"
    read = listed / "read.txt"
    listed.mkdir()
    read.write_text("x")
    for old in (read, listed):
        os.utime(old, ns=(1, 1))  # long before the check
    cache = ValidationCache(tmp_path / "spec.yaml", [])
    with cache.recording() as reads:
        read.read_text()
        written.write_text("y")
        resolve_spec_path(tmp_path, "weights.h5")  # only looked for: it is not there
        os.listdir(listed)
    assert {str(read), str(named), str(listed)} <= reads.paths and str(written) not in reads.paths
    assert cache.store("valid — stored", reads)
    entry = json.loads(cache.path.read_text())
    assert entry["dependencies"][str(read)] == [1, 1] and entry["dependencies"][str(named)] is None
    assert sys.modules["tlspec.cli.validate_cache"].__file__ in entry["dependencies"]  # the code that checked
    assert cache.replay() == "valid — stored"
    (listed / "new.txt").write_text("")  # the folder it listed has another file
    assert cache.replay() is None
    os.utime(listed, ns=(1, 1))
    assert cache.replay() == "valid — stored"
    named.write_bytes(b"")  # the file it looked for appears
    assert cache.replay() is None


def test_a_check_that_reached_beyond_files_or_read_a_changing_file_is_not_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    cache = ValidationCache(tmp_path / "spec.yaml", [])
    with cache.recording() as reads:
        sys.audit("socket.connect", None, ("127.0.0.1", 80))
    assert reads.untrackable == "socket.connect" and not cache.store("valid", reads)
    changing = tmp_path / "changing.txt"
    with cache.recording() as reads:
        changing.write_text("during the check")  # written before it is read: modified after the check began
        changing.read_text()
    assert not cache.store("valid", reads) and not cache.path.exists()


def test_the_environment_keys_the_result_and_a_damaged_entry_is_checked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    spec = tmp_path / "spec.yaml"
    first = ValidationCache(spec, []).path
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "elsewhere"))
    assert ValidationCache(spec, []).path != first
    assert ValidationCache(spec, ["seed=1"]).path != ValidationCache(spec, []).path
    damaged = ValidationCache(spec, [])
    for text in ("{", '{"summary": 3, "dependencies": {}}', '{"summary": "valid", '
                 '"dependencies": [1]}', "[]"):
        damaged.path.parent.mkdir(parents=True, exist_ok=True)
        damaged.path.write_text(text)
        assert damaged.replay() is None


def test_a_cache_that_cannot_be_written_only_costs_the_replay(write_spec, image_data, tmp_path):
    cnn_spec(write_spec)
    (tmp_path / "not-a-folder").write_text("")
    env = dict(os.environ, TLSPEC_CACHE=str(tmp_path / "not-a-folder"))
    for _ in range(2):  # neither the plugin index nor the result can be kept: each run checks
        result = run_cli("validate", "spec.yaml", cwd=tmp_path, env=env)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert result.stdout.startswith("spec.yaml: valid — ") and REPLAYED not in result.stdout
