"""Any single-label text classification data set: file formats, folders, the Hub seam, column
detection, string labels, made test splits, and every bad input with its message."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ltp.data import DataError, PrepareOptions, load_label_names, load_sample, load_split, prepare_dataset, stratified_sample

TICKETS = pd.DataFrame({
    "body": [f"my printer {i} will not print" for i in range(10)] + [f"invoice {i} charged twice" for i in range(10)]
    + [f"password {i} reset please" for i in range(10)],
    "queue": ["hardware"] * 10 + ["billing"] * 10 + ["accounts"] * 10,
})


def write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = path.suffix
    if kind == ".parquet":
        df.to_parquet(path, index=False)
    elif kind in (".csv", ".tsv"):
        df.to_csv(path, index=False, sep="\t" if kind == ".tsv" else ",")
    elif kind == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    elif kind == ".json":
        path.write_text(df.to_json(orient="records"))
    return path


def prep(tmp_path, source, name="tickets", **opts):
    return prepare_dataset(name, source=source, data_dir=tmp_path / "data", options=PrepareOptions(**opts))


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_single_file_of_each_format_gets_a_made_stratified_test_split(tmp_path, ext):
    info = prep(tmp_path, write(TICKETS, tmp_path / f"tickets{ext}"), text_column="body", label_column="queue")
    assert info["label_names"] == ["accounts", "billing", "hardware"]  # string labels, sorted
    assert info["rows"] == {"train": 24, "test": 6}
    assert info["label_counts"]["test"] == {"accounts": 2, "billing": 2, "hardware": 2}
    assert info["test_split"] == {"from": "made", "fraction": 0.2, "seed": 42, "stratified": True}
    train, test = load_split("tickets", "train", tmp_path / "data"), load_split("tickets", "test", tmp_path / "data")
    assert not set(train["text"]) & set(test["text"])
    assert set(train["text"]) | set(test["text"]) == set(TICKETS["body"])
    assert load_label_names("tickets", tmp_path / "data") == ["accounts", "billing", "hardware"]
    # the made split is seeded: the same source gives the same split
    again = prepare_dataset("tickets2", source=tmp_path / f"tickets{ext}", data_dir=tmp_path / "data",
                            options=PrepareOptions(text_column="body", label_column="queue"))
    assert again["rows"] == info["rows"]
    assert load_split("tickets2", "test", tmp_path / "data")["text"].tolist() == test["text"].tolist()


def test_columns_found_by_their_usual_names(tmp_path):
    df = pd.DataFrame({"Sentence": ["good", "bad", "fine", "awful"], "Sentiment": ["pos", "neg", "pos", "neg"]})
    info = prep(tmp_path, write(df, tmp_path / "s.csv"), test_fraction=0.5)
    assert info["columns"]["train"] == {"text": "Sentence", "label": "Sentiment"}
    news = pd.DataFrame({"title": ["A", "B", "C", "D"], "description": ["a.", "b.", "c.", "d."], "category": [0, 1, 0, 1]})
    info = prep(tmp_path, write(news, tmp_path / "n.parquet"), name="news", test_fraction=0.5)
    assert info["columns"]["train"] == {"text": "title+description", "label": "category"}
    rows = pd.concat([load_split("news", s, tmp_path / "data") for s in ("train", "test")])
    assert sorted(rows["text"]) == ["A a.", "B b.", "C c.", "D d."]


def test_folder_with_splits_and_a_validation_split_used_as_test(tmp_path):
    src = tmp_path / "src"
    write(TICKETS.iloc[::2], src / "train.jsonl")
    write(TICKETS.iloc[1::2], src / "validation.jsonl")
    info = prep(tmp_path, src, text_column="body", label_column="queue")
    assert info["test_split"] == {"from": "validation"} and info["rows"] == {"train": 15, "test": 15}


def test_hub_style_folder_with_card_label_names(tmp_path):
    """A folder as a Hub dataset repo stores it: data/<split>-0000x-of-0000n.parquet and a card."""
    repo = tmp_path / "repo"
    df = pd.DataFrame({"text": [f"text {i}" for i in range(8)], "label": [0, 1] * 4})
    write(df.iloc[:3], repo / "data" / "train-00000-of-00002.parquet")
    write(df.iloc[3:6], repo / "data" / "train-00001-of-00002.parquet")
    write(df.iloc[6:], repo / "data" / "test-00000-of-00001.parquet")
    (repo / "README.md").write_text(
        "---\ndataset_info:\n  features:\n  - name: text\n    dtype: string\n  - name: label\n    dtype:\n"
        "      class_label:\n        names:\n          '0': negative\n          '1': positive\n---\n# card\n")
    info = prep(tmp_path, repo, name="hubstyle")
    assert info["label_names"] == ["negative", "positive"]  # integer labels named from metadata
    assert info["rows"] == {"train": 6, "test": 2} and info["test_split"] == {"from": "test"}


def test_classes_txt_names_one_based_indices(tmp_path):
    """The Zhang et al. (2015) layout (headerless class index, title, description) + classes.txt."""
    src = tmp_path / "dbpedia"
    src.mkdir()
    (src / "classes.txt").write_text("Company\nArtist\n")
    (src / "train.csv").write_text('1,"Acme","makes things"\n2,"Joe","paints"\n1,"Beta","sells"\n2,"Ann","sings"\n')
    (src / "test.csv").write_text('2,"Bo","draws"\n1,"Gamma","trades"\n')
    info = prep(tmp_path, src, name="dbpedia")
    assert info["label_names"] == ["Company", "Artist"]
    test = load_split("dbpedia", "test", tmp_path / "data")
    assert test["text"].tolist() == ["Bo draws", "Gamma trades"] and test["label"].tolist() == [1, 0]


def test_integer_labels_without_names_keep_their_values_as_names(tmp_path):
    df = pd.DataFrame({"review": [f"r{i}" for i in range(10)], "stars": [1, 2, 3, 4, 5] * 2})
    info = prep(tmp_path, write(df, tmp_path / "y.csv"), test_fraction=0.5)
    assert info["label_names"] == ["1", "2", "3", "4", "5"]  # stars 1-5 -> ids 0-4
    assert sorted(load_split("tickets", "train", tmp_path / "data")["label"]) == [0, 1, 2, 3, 4]
    info = prep(tmp_path, write(df, tmp_path / "y.csv"), test_fraction=0.5, label_names=("1*", "2*", "3*", "4*", "5*"))
    assert info["label_names"] == ["1*", "2*", "3*", "4*", "5*"]


def test_duplicates_dropped_and_counted_overlap_reported(tmp_path):
    src = tmp_path / "src"
    write(pd.DataFrame({"text": ["a", "b", "a", "c", "d"], "label": ["x", "y", "x", "x", "y"]}), src / "train.csv")
    write(pd.DataFrame({"text": ["a", "e", "f"], "label": ["x", "y", "x"]}), src / "test.csv")
    info = prep(tmp_path, src)
    assert info["dropped"] == {"train": {"duplicate text": 1}}
    assert info["rows"] == {"train": 4, "test": 3}
    assert info["train_test_overlap"] == 1  # "a" is in both: reported, not hidden


def test_hub_id_through_the_loader_seam_with_hidden_test_labels(tmp_path):
    """A GLUE-like Hub dataset: its test labels are hidden (-1), so validation is the test split."""
    frames = {
        "train": pd.DataFrame({"sentence": ["good film", "bad film", "great", "awful"], "label": [1, 0, 1, 0]}),
        "validation": pd.DataFrame({"sentence": ["nice", "poor"], "label": [1, 0]}),
        "test": pd.DataFrame({"sentence": ["?", "??"], "label": [-1, -1]}),
    }

    def loader(hub_id, split):
        assert hub_id == "someone/sst2-like"
        return pa.Table.from_pandas(frames[split])

    loader.splits = ["train", "validation", "test"]
    info = prepare_dataset("sst2", source="someone/sst2-like", data_dir=tmp_path / "data", hub_loader=loader)
    assert info["source"] == "hf://datasets/someone/sst2-like"
    assert info["test_split"] == {"from": "validation"} and info["rows"] == {"train": 4, "test": 2}


@pytest.mark.parametrize("df, opts, message", [
    (pd.DataFrame({"words": ["a", "b"], "label": [0, 1]}), {}, r"lacks column\(s\) \['text'\]; found \['words', 'label'\]"),
    (pd.DataFrame({"text": ["a", "b"], "label": [0, 1]}), {"label_column": "y"}, r"no column 'y' \(--label-column\); found \['text', 'label'\]"),
    (pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", "x", "x"]}), {}, "every training row has the same label"),
    (pd.DataFrame({"text": ["a", "b"], "label": [None, None]}), {}, "no row has a label"),
])
def test_bad_input_says_what_is_wrong(tmp_path, df, opts, message):
    with pytest.raises(DataError, match=message):
        prep(tmp_path, write(df, tmp_path / "bad.parquet"), **opts)
    assert not (tmp_path / "data" / "tickets").exists()  # nothing half-written


def test_test_label_unseen_in_train(tmp_path):
    src = tmp_path / "src"
    write(pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}), src / "train.csv")
    write(pd.DataFrame({"text": ["c"], "label": ["z"]}), src / "test.csv")
    with pytest.raises(DataError, match=r"labels \['z'\] do not occur in the train split"):
        prep(tmp_path, src)


def test_bad_names_and_paths(tmp_path):
    with pytest.raises(DataError, match="must be letters, digits"):
        prepare_dataset("../evil", source=tmp_path, data_dir=tmp_path / "data")
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset("x", source=tmp_path / "nope.csv", data_dir=tmp_path / "data")
    with pytest.raises(DataError, match="unknown file type"):
        prepare_dataset("x", source=write(TICKETS, tmp_path / "t.csv").rename(tmp_path / "t.xlsx"),
                        data_dir=tmp_path / "data")


def test_load_sample_reads_the_rows_stratified_sample_picks(tmp_path):
    big = pd.DataFrame({"text": [f"row {i}" for i in range(300)], "label": [i % 3 for i in range(300)]})
    prepare_dataset("big", source=write(big, tmp_path / "big.parquet"), data_dir=tmp_path / "data")
    full = load_split("big", "train", tmp_path / "data")
    want = stratified_sample(full, 50, seed=3)
    got = load_sample("big", "train", 50, seed=3, data_dir=tmp_path / "data")
    pd.testing.assert_frame_equal(got, want, check_index_type=False)
    assert got.attrs["rows"] == len(full)
    assert json.loads((tmp_path / "data" / "big" / "labels.json").read_text())["rows"]["train"] == len(full)
    assert pq.ParquetFile(tmp_path / "data" / "big" / "train.parquet").schema_arrow.names == ["text", "label"]
