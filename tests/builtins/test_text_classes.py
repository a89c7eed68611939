"""text_classes on untidy corpora: class files, broken TSV rows, relabelling, duplicates, scripts,
character ids with a fixed alphabet, label budgets on a fixed test split; and the text_cnn block."""

import numpy as np
import pytest

from tlspec.api import DataContext, PlanError
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec_builtins.data_text_classes import TextClasses, TextClassesConfig, read_documents, stratified_subset
from tlspec_builtins.scripts import devanagari_to_urdu, fold_urdu, normalise_urdu


@pytest.mark.parametrize("hindi, urdu", [
    ("मिकी वाइरस पूरी तरह से मनीष पॉल की फिल्म है", "مکی وائرس پوری ترہ سے منیش پال کی پھلم ہے"),
    ("यह फ़िल्म आपको हंसाएगी और भी करेगी", "یہ فلم آپکو ہنسائے گی اور بھی کرے گی"),
    ("मोहनीश बहल ने निराश किया।", "موہنیش بہل نے نراش کیا۔"),
    ("उन्होंने अच्छा सच्चा लिए हुए", "انہوں نے اچھا سچا لیے ہوئے"),
    ("वे हर भाव के दृश्यों में नैचुरल लगते हैं", "وے ہر بھاو کے درشیوں میں نیچرل لگتے ہیں"),
    ("क्योंकि 2014 में ४२ न", "کیونکہ 2014 میں 42 نہ"),
])
def test_devanagari_is_written_as_urdu_spells_it(hindi, urdu):
    assert devanagari_to_urdu(hindi) == urdu


def test_urdu_spellings_are_normalised_and_folded():
    # Presentation forms (NFKC), Arabic yeh/kaf, vowel marks, heh used for aspiration and for h.
    assert normalise_urdu("ﺍﻟﻠﻪ نهیں بهی ھے انھیں ليكن مُلک ۱۲") == "اللہ نہیں بھی ہے انہیں لیکن ملک 12"
    assert fold_urdu("طرح فلم عمران ضرور") == "ترہ پھلم امران جرور"
    assert fold_urdu(normalise_urdu(devanagari_to_urdu("ज़रूर"))) == fold_urdu("ضرور")


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "pos.txt").write_text("अच्छी फिल्म$ बहुत अच्छी $$अच्छी फिल्म$शानदार\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_text("बुरी फिल्म$बेकार$बुरी", encoding="utf-8")
    rows = ["Tweet\tClass", 'اچھی "فلم\tP', "بری فلم  N", "ٹھیک ہے\tO", "اچھی\tP", "بری\tN", "بری\tP", "بہت بری\tN"]
    (tmp_path / "tweets.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


def test_class_files_with_a_separator_and_duplicates(corpus):
    config = TextClassesConfig(plugin="text_classes", files={"pos": "pos.txt", "neg": "neg.txt"}, separator="$",
                               deduplicate=True, transforms=["devanagari_to_urdu"])
    context = DataContext(corpus, ("sentiment",))
    texts, labels = read_documents(config, context)
    assert texts == ["اچھی پھلم", "بہت اچھی", "شاندار", "بری پھلم", "بیکار", "بری"]
    assert labels == ["pos"] * 3 + ["neg"] * 3
    assert context.notes == ["dropped 1 duplicate documents (0 texts carried conflicting labels and were "
                             "dropped entirely)"]


def test_tsv_quotes_missing_tabs_relabelling_and_kept_classes(corpus):
    config = TextClassesConfig(plugin="text_classes", path="tweets.tsv", text_column="Tweet", label_column="Class",
                               label_map={"P": "pos", "N": "neg"}, classes=["neg", "pos"], deduplicate=True)
    context = DataContext(corpus, ("sentiment",))
    texts, labels = read_documents(config, context)
    # The quote is text; line 3 lost its TAB; 'بری' is both P and N, so both copies go.
    assert list(zip(texts, labels)) == [('اچھی "فلم', "pos"), ("بری فلم", "neg"), ("اچھی", "pos"),
                                        ("بہت بری", "neg")]
    assert context.notes == [
        "tweets.tsv: line 3 had no TAB; the label was read after the last space",
        "dropped 1 documents of class 'O'",
        "dropped 2 duplicate documents (1 texts carried conflicting labels and were dropped entirely)"]


def test_missing_class_is_named_with_a_suggestion(corpus):
    config = TextClassesConfig(plugin="text_classes", path="tweets.tsv", text_column="Tweet", label_column="Class",
                               label_map={"P": "pos"}, classes=["N", "poss"])
    with pytest.raises(PlanError) as caught:
        read_documents(config, DataContext(corpus, ("sentiment",)))
    assert caught.value.message == ("no documents of class 'poss' (did you mean 'pos'?); classes in the data: "
                                     "'N', 'O', 'pos'")
    assert caught.value.field == ("classes",)


def test_label_budget_is_stratified_and_leaves_the_test_split_alone(tmp_path):
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    chosen = stratified_subset(np.arange(100), labels, 10, seed=3)
    assert sorted(labels[i] for i in chosen) == ["a"] * 6 + ["b"] * 3 + ["c"]
    assert not np.array_equal(chosen, stratified_subset(np.arange(100), labels, 10, seed=4))

    lines = ["text,label"] + [f"word{i} common,{'pos' if i % 3 else 'neg'}" for i in range(90)]
    (tmp_path / "docs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = TextClasses()

    def prepare(seed, limit):
        config = TextClassesConfig(plugin="text_classes", path="docs.csv", validation=0, test=0.2, split_seed=0,
                                   train_limit=limit, level="char", max_length=12)
        return source._prepare(config, DataContext(tmp_path, ("sentiment",), seed=seed))

    _, _, _, full, _ = prepare(1, None)
    _, _, _, small, _ = prepare(1, 20)
    _, _, _, other, _ = prepare(2, 20)
    assert set(full) == {"train", "test"} and len(full["test"]) == 18 and len(full["train"]) == 72
    assert np.array_equal(full["test"], small["test"]) and np.array_equal(full["test"], other["test"])
    assert len(small["train"]) == 20 and set(small["train"]) < set(full["train"])
    assert not np.array_equal(small["train"], other["train"])


def test_characters_with_a_fixed_vocabulary_file(write_spec, tmp_path):
    (tmp_path / "docs.csv").write_text("text,label\nab ba,x\nzz,y\nab,x\nba,y\n", encoding="utf-8")
    (tmp_path / "alphabet.txt").write_text(" \na\nb\n", encoding="utf-8")
    path = write_spec("""
        tlspec: 1
        name: chars
        inputs: {tokens: {shape: [6], dtype: int32}}
        backbone: {plugin: word_embedding, from: inputs.tokens, dim: 4, mask_padding: false}
        blocks: [{name: encoder, plugin: text_cnn, from: backbone, kernel_sizes: [2, 3], filters: 5}]
        heads: [{name: label, plugin: classifier, from: encoder, classes: from_data}]
        data: {plugin: text_classes, path: docs.csv, level: char, max_length: 6, validation: 0, test: 0.25,
               vocabulary: {file: alphabet.txt}}
        """)
    validated = validate_file(path)
    assert validated.description.vocabularies["tokens"] == ("<pad>", "<unk>", " ", "a", "b")
    source, config = validated.data_source.record.plugin, validated.data_source.config
    ids = source.prediction_inputs(config, validated.data_context(), ["ab  ba", "zab"])["tokens"]
    assert ids.tolist() == [[3, 4, 2, 4, 3, 0], [1, 3, 4, 0, 0, 0]]
    from helpers import build

    model = build(path).model
    # embedding 5x4; conv widths 2 and 3: (2*4+1)*5 + (3*4+1)*5; head (10+1)*2
    assert model.count_params() == 20 + 45 + 65 + 22


def test_path_or_files_not_both(write_spec):
    path = write_spec("""
        tlspec: 1
        name: both
        inputs: {tokens: {shape: [6], dtype: int32}}
        backbone: {plugin: word_embedding, from: inputs.tokens, dim: 4}
        heads: [{name: label, plugin: classifier, classes: from_data}]
        data: {plugin: text_classes, path: docs.csv, files: {a: a.txt, b: b.txt}}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    expected = "spec.yaml:6:7: data: give either path (a folder or a table) or files (one file per class)"
    assert expected in str(caught.value)


def test_transforms_chain_in_order_and_reach_prediction_inputs(write_spec, tmp_path):
    (tmp_path / "docs.csv").write_text("text,label\nअच्छी फिल्म,pos\nबुरी फिल्म,neg\nअच्छी,pos\nबुरी,neg\n",
                                       encoding="utf-8")
    path = write_spec("""
        tlspec: 1
        name: translit
        inputs: {tokens: {shape: [4], dtype: int32}}
        backbone: {plugin: word_embedding, from: inputs.tokens, dim: 4}
        heads: [{name: label, plugin: classifier, pooling: avg, classes: from_data}]
        data:
          plugin: text_classes
          path: docs.csv
          max_length: 4
          validation: 0
          test: 0.25
          transforms: [devanagari_to_urdu, {plugin: urdu_normalise, fold: true}]
        """)
    validated = validate_file(path)
    assert set(validated.description.vocabularies["tokens"]) >= {"اچھی", "بری", "پھلم"}
    source, config = validated.data_source.record.plugin, validated.data_source.config
    vocabulary = validated.description.vocabularies["tokens"]
    ids = source.prediction_inputs(config, validated.data_context(), ["बुरी फ़िल्म"])["tokens"]
    # फ़िल्म (with nukta) becomes فلم, folded to پھلم: the same token as the unmarked spelling.
    assert [vocabulary[i] for i in ids[0] if i] == ["بری", "پھلم"]


@pytest.mark.parametrize("transforms, where, expected", [
    ("[devanagri_to_urdu]", "data.transforms[0].plugin",
     "unknown transform plugin 'devanagri_to_urdu' (did you mean 'devanagari_to_urdu'?)"),
    ("[{plugin: urdu_normalise, folds: true}]", "data.transforms[0].folds",
     "unknown field 'folds' (did you mean 'fold'?)"),
    ("[{plugin: unicode_normalise, form: NFX}]", "data.transforms[0].form",
     "expected one of 'NFC', 'NFKC', 'NFD', 'NFKD'; got 'NFX'"),
])
def test_transform_mistakes_are_located(write_spec, transforms, where, expected):
    path = write_spec(f"""
        tlspec: 1
        name: bad
        inputs: {{tokens: {{shape: [4], dtype: int32}}}}
        backbone: {{plugin: word_embedding, from: inputs.tokens, dim: 4}}
        heads: [{{name: label, plugin: classifier, pooling: avg, classes: from_data}}]
        data: {{plugin: text_classes, path: docs.csv, transforms: {transforms}}}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    text = str(caught.value)
    assert "spec.yaml:6:" in text and f": {where}" in text and expected in text, text


def test_transforms_on_a_source_that_does_not_read_text_are_refused(write_spec):
    path = write_spec("""
        tlspec: 1
        name: bad
        inputs: {x: {shape: [1]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: y, plugin: regression}]
        data: {plugin: inline, inputs: {x: [[1], [2]]}, targets: {y: [[1], [2]]}, transforms: [lowercase]}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert "data.transforms: unknown field 'transforms'" in str(caught.value)



def test_a_class_file_that_is_not_utf8_is_named_at_its_line(write_spec, tmp_path):
    (tmp_path / "pos.txt").write_text("good film\n\nfine\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_bytes(b"bad film\n\nawful\n\n" + "mauvais caf\xe9\n".encode("latin-1"))
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {tokens: {shape: [4], dtype: int32}}
        backbone: {plugin: word_embedding, from: inputs.tokens, dim: 4}
        heads: [{name: label, plugin: classifier, from: backbone, pooling: avg, classes: from_data}]
        data: {plugin: text_classes, files: {pos: pos.txt, neg: neg.txt}, separator: "\\n\\n", max_length: 4}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert [str(p) for p in caught.value.problems] == [
        "spec.yaml:6:57: data.files.neg: neg.txt is not UTF-8 text: byte 0xe9 at line 5, column 12 (invalid "
        "continuation byte); save it as UTF-8"]


def test_rows_without_a_label_are_noted_and_deduplicating_everything_is_an_error(tmp_path):
    from tlspec_builtins.text_documents import deduplicate, read_table

    (tmp_path / "docs.tsv").write_text("text\tlabel\ngood\tpos\nno label here\t\n\t\nbad\tneg\n\tneg\n",
                                       encoding="utf-8")
    context = DataContext(tmp_path, ("label",))
    texts, labels = read_table(tmp_path / "docs.tsv", "text", "label", context)
    assert (texts, labels) == (["good", "bad"], ["pos", "neg"])
    assert context.notes == ["docs.tsv: skipped 2 rows without both a text and a label (lines 3, 6)"]
    with pytest.raises(PlanError) as caught:
        deduplicate(["a", "a", "b", "b"], ["x", "y", "x", "y"], context)
    assert (caught.value.message, caught.value.field) == (
        "deduplication drops all 4 documents: every text carries conflicting labels", ("deduplicate",))
