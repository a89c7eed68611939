"""Files a careless user or a hostile author writes: each one ends in one located problem, quickly, and
nothing it holds can make loading take unbounded time or memory (tlspec.spec.limits)."""

import time
import zipfile

import pytest

from helpers import only_problem, run_cli
from tlspec.spec.limits import MAX_SPEC_BYTES

HEAD = "tlspec: 1\nname: t\n"
VALID = HEAD + "backbone: {plugin: mlp, input_shape: [3], units: [2]}\nheads: [{name: o, plugin: regression}]\n"


@pytest.mark.parametrize(("text", "expected"), [
    (HEAD + "description: \x1b[31mred\n",
     "spec.yaml:3:14: invalid YAML: the control character U+001B is not allowed in YAML; remove it (or write it as "
     'an escape inside double quotes, e.g. "\\x1b")'),
    (HEAD + "description: a\x00b\n",
     "spec.yaml:3:15: invalid YAML: the control character U+0000 is not allowed in YAML; remove it (or write it as "
     'an escape inside double quotes, e.g. "\\x1b")'),
    (HEAD + "seed: !!int abc\n",
     "spec.yaml:3:7: invalid YAML: 'abc' cannot be read as !!int (invalid literal for int() with base 10: 'abc')"),
    (HEAD + "seed: !!float abc\n",
     "spec.yaml:3:7: invalid YAML: 'abc' cannot be read as !!float (could not convert string to float: 'abc')"),
    (HEAD + "seed: !!timestamp x\n", "spec.yaml:3:7: invalid YAML: 'x' cannot be read as !!timestamp"),
    (HEAD + "description: 2020-13-45\n",
     "spec.yaml:3:14: invalid YAML: '2020-13-45' reads as a timestamp but is not a valid one (month must be in "
     "1..12); quote it to write it as text"),
    (HEAD + "seed: " + "9" * 5000 + "\n",
     "spec.yaml:3:7: invalid YAML: an integer of 5,000 digits; a spec's integers have at most 64 (the spec limit "
     "for integer length)"),
    (HEAD + "description: &a [*a]\n",
     "spec.yaml:3:14: invalid YAML: an alias refers to a value that contains it, so it would never end; refer to "
     "another value"),
    (HEAD + "description: " + "[" * 600 + "]" * 600 + "\n",
     "spec.yaml:3:77: invalid YAML: nested more than 64 levels deep (the spec limit for nesting)"),
    (HEAD + "extends: []\n",
     "spec.yaml:3:10: extends: expected a file path or a list of file paths, got an empty list (remove "
     "'extends' to extend nothing)"),
    (HEAD + "extends: base\x00.yaml\n",
     "spec.yaml:3:14: invalid YAML: the control character U+0000 is not allowed in YAML; remove it (or write it as "
     'an escape inside double quotes, e.g. "\\x1b")'),
    (HEAD + 'extends: "base\\0.yaml"\n', "spec.yaml:3:10: cannot read '/TMP/base\\x00.yaml': embedded null byte"),
    (HEAD + "extends: " + "x" * 5000 + ".yaml\n",
     "spec.yaml:3:10: extends: cannot read '" + "x" * 197 + "...': File name too long"),
])
def test_malformed_yaml_is_one_located_problem(write_spec, tmp_path, text, expected):
    message = only_problem(write_spec(text)).replace(str(tmp_path), "/TMP")
    assert message == expected


def test_alias_expansion_is_bounded(write_spec):
    """A 'billion laughs' file: nine levels of nine aliases would expand to 387 million values."""
    lines = ["a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for level in range(1, 9):
        name, previous = chr(97 + level), chr(96 + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()
    message = only_problem(write_spec("description:\n" + "\n".join(f"  {line}" for line in lines) + "\n"))
    assert time.perf_counter() - started < 5
    assert message.endswith("invalid YAML: the document holds more than 100,000 values once its aliases are "
                            "expanded (the spec limit for values); put data in a file a data plugin reads")
    assert message.startswith("spec.yaml:")


def test_a_spec_over_the_size_limit_is_refused_before_it_is_read(write_spec, tmp_path):
    path = write_spec(VALID + "description: '" + "x" * MAX_SPEC_BYTES + "'\n")
    size = (tmp_path / path).stat().st_size
    assert only_problem(path) == (f"spec.yaml:1:1: spec.yaml is {size:,} bytes; a spec file holds at most "
                                  "1,000,000 (the spec limit for size): put data in a file a data plugin reads")


def test_a_spec_that_is_not_utf8_is_located_at_its_first_bad_byte(write_spec, tmp_path):
    path = write_spec("")
    (tmp_path / path).write_bytes(HEAD.encode() + "description: caf\xe9 ok\n".encode("latin-1"))
    assert only_problem(path) == ("spec.yaml:3:17: the file is not UTF-8 text: byte 0xe9 (invalid continuation "
                                  "byte); save it as UTF-8")


def test_extended_file_that_is_not_utf8_is_located_in_that_file(write_spec, tmp_path):
    (tmp_path / "base.yaml").write_bytes(b"tlspec: 1\n# \xff\n")
    assert only_problem(write_spec(HEAD + "extends: base.yaml\n")) == (
        "base.yaml:2:3: the file is not UTF-8 text: byte 0xff (invalid start byte); save it as UTF-8")


@pytest.mark.parametrize(("override", "expected"), [
    ("description=a\x1bb", "<--set 1>:1:14: invalid YAML: the control character U+001B is not allowed in YAML; "
                           'remove it (or write it as an escape inside double quotes, e.g. "\\x1b")'),
    ("seed=!!int x", "<--set 1>:1:6: invalid YAML: 'x' cannot be read as !!int (invalid literal for int() with "
                     "base 10: 'x')"),
    ("extends=other.yaml", "<--set 1>:1:1: extends: --set cannot change extends: the files a spec extends are "
                           "merged before --set applies; write extends in the spec file"),
])
def test_bad_set_values_are_located_in_the_override(write_spec, override, expected):
    assert only_problem(write_spec(VALID), [override]) == expected


def test_a_keras_zip_bomb_is_not_unpacked_by_validate(write_spec, tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (80 * 1024 * 1024))  # deflates to ~80 KB
    path = write_spec(HEAD + "backbone: {plugin: keras_file, path: bomb.keras}\n"
                             "heads: [{name: o, plugin: regression}]\n")
    started = time.perf_counter()
    message = only_problem(path)
    assert time.perf_counter() - started < 2
    assert message.replace(str(tmp_path), "/TMP") == (
        "spec.yaml:3:38: backbone.path: /TMP/bomb.keras is not a .keras archive: its config.json unpacks to "
        "83,886,080 bytes (a model's is far below the 67,108,864 tlspec reads)")


def test_the_cli_reports_them_with_exit_code_2_and_no_traceback(write_spec, tmp_path):
    write_spec(HEAD + "seed: !!int abc\n")
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "spec.yaml:3:7: invalid YAML: 'abc' cannot be read as !!int (invalid literal for int() with base 10: 'abc')",
        "spec.yaml: 1 problem"]


def test_a_data_path_no_file_system_could_hold_is_located_at_the_data_section(write_spec):
    path = write_spec(HEAD + "inputs: {x: {shape: [3]}}\nbackbone: {plugin: mlp, from: inputs.x, units: [2]}\n"
                      "heads: [{name: o, plugin: regression}]\n"
                      "data: {plugin: arrays, train: " + "d" * 300 + ".npz, inputs: {x: x}, targets: {o: y}}\n")
    assert only_problem(path) == ("spec.yaml:6:7: data: the path '" + "d" * 77 + "...' is longer than a file system "
                                  "allows (255 bytes a name, 4096 a path)")


@pytest.mark.parametrize(("text", "expected"), [
    ("a: [1, 2\nb: 3\n", "spec.yaml:1:4: a: invalid YAML: the '[' here is not closed: expected ',' or ']' but got ':' "
                         "at line 2, column 2"),
    ("a: 'unclosed\nb: 2\n", "spec.yaml:1:4: a: invalid YAML: the quote here is not closed (found unexpected end of "
                             "stream)"),
    ("a:\n\tb: 1\n", "spec.yaml:2:1: a: invalid YAML: a TAB cannot indent YAML; indent with spaces"),
    ("a: 1\n  b: 2\n", "spec.yaml:2:4: invalid YAML: a ':' cannot start a value here: the line is indented deeper "
                       "than its mapping, or a value holding ': ' needs quotes"),
    ("a:\n  b: 1\n c: 2\n", "spec.yaml:3:2: invalid YAML: this line is indented like no key above it; align it "
                            "with the keys of its mapping"),
    ("- a\nb: 1\n", "spec.yaml:2:1: invalid YAML: a key is indented like the list items above it; indent list "
                    "items under their key, or start a new key at the left"),
])
def test_yaml_syntax_errors_say_what_to_change_where(write_spec, text, expected):
    assert only_problem(write_spec(text)) == expected


def test_yaml_syntax_errors_carry_the_path_being_read(write_spec):
    path = write_spec(HEAD + "heads:\n  - name: x\n    plugin: [classifier\n")
    assert only_problem(path) == ("spec.yaml:5:13: heads[0].plugin: invalid YAML: the '[' here is not closed: "
                                  "expected ',' or ']' but got the end at line 6, column 1")
