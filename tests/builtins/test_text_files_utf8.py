"""Every text file a built-in data source reads is strict UTF-8: a file that is not is named at its first bad byte."""

import pytest

from helpers import only_problem

CLASS_TABLE = """
tlspec: 1
name: t
inputs: {tokens: {shape: [4], dtype: int32}}
backbone: {plugin: word_embedding, from: inputs.tokens, dim: 4}
heads: [{name: label, plugin: classifier, pooling: avg, classes: from_data}]
data: {plugin: text_classes, path: docs.tsv, max_length: 4}
"""

VOCABULARY = """
tlspec: 1
name: chars
inputs: {tokens: {shape: [6], dtype: int32}}
backbone: {plugin: word_embedding, from: inputs.tokens, dim: 4, mask_padding: false}
heads: [{name: label, plugin: classifier, pooling: avg, classes: from_data}]
data: {plugin: text_classes, path: docs.csv, level: char, max_length: 6, validation: 0, test: 0.25,
       vocabulary: {file: alphabet.txt}}
"""

PARALLEL = """
tlspec: 1
name: p
inputs:
  source: {shape: [null], dtype: int32}
backbone: {plugin: word_embedding, from: inputs.source, dim: 16}
blocks:
  - {name: encoder, plugin: rnn, from: backbone, cell: lstm, units: 8, return_sequences: false}
heads:
  - {name: upper, plugin: sequence_decoder, from: encoder.states, classes: from_data, embedding_dim: 8}
data:
  plugin: parallel_text
  path: pairs.tsv
  targets: {upper: 1}
  level: word
"""

LATIN1 = "caf\u00e9".encode("latin-1")


@pytest.mark.parametrize(("spec", "files", "expected"), [
    (CLASS_TABLE, {"docs.tsv": b"text\tlabel\ngood film\tpos\nbad " + LATIN1 + b"\tneg\nfine\tpos\nawful\tneg\n"},
     "spec.yaml:6:36: data.path: docs.tsv is not UTF-8 text: byte 0xe9 at line 3, column 8 (invalid continuation "
     "byte); save it as UTF-8"),
    (VOCABULARY, {"docs.csv": b"text,label\nab ba,x\nzz,y\nab,x\nba,y\n", "alphabet.txt": b" \na\n\xe9\nb\n"},
     "spec.yaml:7:27: data.vocabulary.file: alphabet.txt is not UTF-8 text: byte 0xe9 at line 3, column 1 "
     "(invalid continuation byte); save it as UTF-8"),
    (PARALLEL, {"pairs.tsv": b"cat dog\tCAT DOG\n" + LATIN1 + b" sun\tCAFE SUN\nmoon\tMOON\n"},
     "spec.yaml:12:9: data.path: pairs.tsv is not UTF-8 text: byte 0xe9 at line 2, column 4 (invalid continuation "
     "byte); save it as UTF-8"),
], ids=["class-table", "vocabulary", "parallel-text"])
def test_a_text_file_that_is_not_utf8_is_located(write_spec, tmp_path, spec, files, expected):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    assert only_problem(write_spec(spec)) == expected
