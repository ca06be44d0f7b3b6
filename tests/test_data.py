"""Tests for ltp.data: preparing from folders and the Hub seam, loading, sampling, cleaning."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ltp import data
from ltp.data import (
    DATASETS,
    DataError,
    default_data_dir,
    load_label_names,
    load_split,
    prepare_dataset,
    stratified_sample,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

AG_TRAIN = pd.DataFrame(
    {
        "text": [
            "World news <br /> here",
            "Sports: a \\ backslash",
            "Business &lt;b&gt;",
            "Sci/Tech  two  spaces",
        ],
        "label": [0, 1, 2, 3],
    }
)
AG_TEST = pd.DataFrame({"text": ["t0", "t1", "t2", "t3", "t3 again"], "label": [0, 1, 2, 3, 3]})


def write_split(folder: Path, split: str, df: pd.DataFrame, fmt: str) -> Path:
    """Write ``df`` as ``folder/<split>.<fmt>`` (parquet or CSV with header)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}.{fmt}"
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def write_ag_source(root: Path, fmt: str = "parquet", nested: bool = True) -> Path:
    """Create a tiny AG News source folder in either accepted layout; return the --from folder."""
    folder = root / "ag_news" if nested else root
    write_split(folder, "train", AG_TRAIN, fmt)
    write_split(folder, "test", AG_TEST, fmt)
    return root


def fake_hub(frames: dict[tuple[str, str], pd.DataFrame]):
    """A hub_loader returning canned frames and recording its calls."""
    calls: list[tuple[str, str]] = []

    def loader(hub_id: str, split: str) -> pd.DataFrame:
        calls.append((hub_id, split))
        return frames[(hub_id, split)]

    loader.calls = calls  # type: ignore[attr-defined]
    return loader


# ----------------------------------------------------------------------------- specs


def test_dataset_specs():
    assert {"ag_news", "imdb"} <= set(DATASETS)  # tests may register a toy set next to them
    ag, imdb = DATASETS["ag_news"], DATASETS["imdb"]
    assert ag.hub_id == "fancyzhx/ag_news" and imdb.hub_id == "stanfordnlp/imdb"
    assert list(ag.label_names) == ["World", "Sports", "Business", "Sci/Tech"]
    assert list(imdb.label_names) == ["negative", "positive"]
    assert ag.splits == imdb.splits == ("train", "test")
    assert all(spec.description and "\n" not in spec.description for spec in DATASETS.values())
    with pytest.raises(AttributeError):
        ag.name = "other"  # type: ignore[misc]


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("LTP_DATA_DIR", raising=False)
    assert default_data_dir() == Path("data")
    monkeypatch.setenv("LTP_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path


# ----------------------------------------------------------------------------- prepare: local


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("nested", [True, False], ids=["source/name/", "source/"])
def test_prepare_from_local_folder(tmp_path, fmt, nested):
    source = write_ag_source(tmp_path / "src", fmt=fmt, nested=nested)
    out = tmp_path / "data"
    info = prepare_dataset("ag_news", source=source, data_dir=out)

    for split, expected in (("train", AG_TRAIN), ("test", AG_TEST)):
        table = pq.read_table(out / "ag_news" / f"{split}.parquet")
        assert table.column_names == ["text", "label"]
        assert str(table.schema.field("label").type) == "int64"
        assert str(table.schema.field("text").type) == "string"
        assert table.column("text").to_pylist() == expected["text"].tolist()  # text kept exactly
        assert table.column("label").to_pylist() == expected["label"].tolist()
    assert info["rows"] == {"train": 4, "test": 5}
    assert info == json.loads((out / "ag_news" / "labels.json").read_text())
    assert not list((out / "ag_news").glob("*.tmp")) and not list((out / "ag_news").glob(".*"))


def test_labels_json_content(tmp_path):
    source = write_ag_source(tmp_path / "src")
    prepare_dataset("ag_news", source=source, data_dir=tmp_path / "data")
    info = json.loads((tmp_path / "data" / "ag_news" / "labels.json").read_text())
    assert set(info) == {"dataset", "label_names", "source", "rows", "label_counts", "columns", "dropped",
                         "test_split", "train_test_overlap"}
    assert info["columns"]["train"] == {"text": "text", "label": "label"}
    assert info["test_split"] == {"from": "test"} and info["dropped"] == {} and info["train_test_overlap"] == 0
    assert info["dataset"] == "ag_news"
    assert info["label_names"] == ["World", "Sports", "Business", "Sci/Tech"]
    assert Path(info["source"]) == (tmp_path / "src" / "ag_news").resolve()
    assert info["label_counts"]["test"] == {"World": 1, "Sports": 1, "Business": 1, "Sci/Tech": 2}
    assert info["label_counts"]["train"] == {"World": 1, "Sports": 1, "Business": 1, "Sci/Tech": 1}


def test_prepare_accepts_string_source_and_float_labels(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN.assign(label=[0.0, 1.0, 2.0, 3.0]), "csv")
    write_split(folder, "test", AG_TEST, "csv")
    prepare_dataset("ag_news", source=str(folder), data_dir=tmp_path / "data")
    assert load_split("ag_news", "train", tmp_path / "data")["label"].tolist() == [0, 1, 2, 3]


def test_csv_keeps_text_that_looks_like_missing_values(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", pd.DataFrame({"label": [0, 1], "text": ["NA", "null"]}), "csv")
    write_split(folder, "test", AG_TEST, "csv")
    prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")
    assert load_split("ag_news", "train", tmp_path / "data")["text"].tolist() == ["NA", "null"]


def _write_ag_original_csv(path: Path, rows: list[tuple[int, str, str]], header: bool = False) -> None:
    """Write rows the way the original AG News CSV does: all fields quoted, no header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        if header:
            writer.writerow(["Class Index", "Title", "Description"])
        writer.writerows(rows)


@pytest.mark.parametrize("header", [False, True], ids=["headerless", "kaggle-header"])
def test_prepare_ag_original_csv(tmp_path, header):
    rows = [(3, "Wall St. Bears", 'Reuters - "Short-sellers",\\band'), (1, "Title", "Desc, with comma")]
    folder = tmp_path / "src" / "ag_news"
    _write_ag_original_csv(folder / "train.csv", rows, header=header)
    _write_ag_original_csv(folder / "test.csv", [(4, "A", "B")], header=header)
    prepare_dataset("ag_news", source=tmp_path / "src", data_dir=tmp_path / "data")
    train = load_split("ag_news", "train", tmp_path / "data")
    assert train["text"].tolist() == ['Wall St. Bears Reuters - "Short-sellers",\\band', "Title Desc, with comma"]
    assert train["label"].tolist() == [2, 0]
    assert load_split("ag_news", "test", tmp_path / "data")["label"].tolist() == [3]


def test_ag_original_csv_class_out_of_range(tmp_path):
    folder = tmp_path / "src"
    _write_ag_original_csv(folder / "train.csv", [(5, "T", "D")])
    _write_ag_original_csv(folder / "test.csv", [(1, "T", "D")])
    with pytest.raises(DataError, match="class indices 1-4"):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")


def test_parquet_preferred_over_csv(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN, "parquet")
    write_split(folder, "train", AG_TRAIN.iloc[:1], "csv")
    write_split(folder, "test", AG_TEST, "csv")
    info = prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")
    assert info["rows"] == {"train": 4, "test": 5}


# ----------------------------------------------------------------------------- prepare: errors


def test_unknown_dataset_lists_known(tmp_path):
    with pytest.raises(DataError, match=r"Unknown data set 'sst2'.*ag_news, imdb.*--from"):
        prepare_dataset("sst2", data_dir=tmp_path / "data")  # any name works with --from; alone only presets
    with pytest.raises(DataError, match="ag_news, imdb"):
        load_split("sst2", "train", tmp_path)


def test_missing_source_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset("ag_news", source=tmp_path / "nope", data_dir=tmp_path / "data")


def test_source_without_files(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(DataError, match=r"No ag_news files found.*train,test"):
        prepare_dataset("ag_news", source=tmp_path / "src", data_dir=tmp_path / "data")


def test_missing_split_writes_nothing(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN, "parquet")
    with pytest.raises(DataError, match=r"Split 'test' of ag_news is missing.*test\.parquet"):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / "ag_news").exists()


def test_missing_columns(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN.rename(columns={"label": "y"}), "parquet")
    write_split(folder, "test", AG_TEST, "parquet")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['label'\]"):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")


def test_csv_without_header(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.csv").write_text("some text,0\nother,1\n")
    write_split(folder, "test", AG_TEST, "csv")
    with pytest.raises(DataError, match="Add a header row 'text,label'"):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 2, 4], r"labels \[4\] are out of range"),
        ([0, -1, 2, 3], r"labels \[-1\]"),
        ([0, 1, 2, 2.5], "integers"),
    ],
)
def test_bad_labels(tmp_path, labels, message):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN.assign(label=labels), "parquet")
    write_split(folder, "test", AG_TEST, "parquet")
    with pytest.raises(DataError, match=message):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")


def test_imdb_label_range_is_binary(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN, "parquet")  # labels 0-3 are invalid for IMDb
    write_split(folder, "test", AG_TEST, "parquet")
    with pytest.raises(DataError, match=r"out of range for imdb \(0 negative, 1 positive\)"):
        prepare_dataset("imdb", source=folder, data_dir=tmp_path / "data")


def test_empty_split(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN.iloc[:0], "parquet")
    write_split(folder, "test", AG_TEST, "parquet")
    with pytest.raises(DataError, match="has no rows"):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")


def test_missing_and_empty_texts_are_dropped_and_counted(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN.assign(text=["a", None, "  ", "d"]), "parquet")
    write_split(folder, "test", AG_TEST, "parquet")
    info = prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")
    assert info["rows"]["train"] == 2 and info["dropped"] == {"train": {"empty text": 2}}
    assert load_split("ag_news", "train", tmp_path / "data")["text"].tolist() == ["a", "d"]


def test_non_text_column_is_a_clear_error(tmp_path):
    folder = tmp_path / "src"
    write_split(folder, "train", AG_TRAIN.assign(text=[1, 2, 3, 4]), "parquet")
    write_split(folder, "test", AG_TEST, "parquet")
    with pytest.raises(DataError, match="column 'text' holds int64, not text"):
        prepare_dataset("ag_news", source=folder, data_dir=tmp_path / "data")


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    source = write_ag_source(tmp_path / "src")
    out = tmp_path / "data"
    prepare_dataset("ag_news", source=source, data_dir=out)
    before = (out / "ag_news" / "train.parquet").read_bytes()

    def exploding_writer(df, path):
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(data, "_write_parquet", exploding_writer)
    with pytest.raises(OSError, match="disk full"):
        prepare_dataset("ag_news", source=source, data_dir=out)
    assert (out / "ag_news" / "train.parquet").read_bytes() == before
    assert sorted(p.name for p in (out / "ag_news").iterdir()) == ["labels.json", "test.parquet", "train.parquet"]


# ----------------------------------------------------------------------------- prepare: hub seam


def test_prepare_from_hub_loader(tmp_path):
    hub = {
        ("stanfordnlp/imdb", "train"): pd.DataFrame({"text": ["bad<br />film", "great"], "label": [0, 1]}),
        ("stanfordnlp/imdb", "test"): pd.DataFrame({"text": ["meh", "wow", "ok"], "label": [0, 1, 1], "extra": 1}),
    }
    loader = fake_hub(hub)
    info = prepare_dataset("imdb", data_dir=tmp_path, hub_loader=loader)
    assert loader.calls == [("stanfordnlp/imdb", "train"), ("stanfordnlp/imdb", "test")]
    assert info["source"] == "hf://datasets/stanfordnlp/imdb"
    assert info["rows"] == {"train": 2, "test": 3}
    assert info["label_counts"]["test"] == {"negative": 1, "positive": 2}
    test = load_split("imdb", "test", tmp_path)
    assert list(test.columns) == ["text", "label"] and test["label"].tolist() == [0, 1, 1]
    assert load_split("imdb", "train", tmp_path)["text"][0] == "bad<br />film"  # not cleaned


def test_failing_hub_loader_suggests_from(tmp_path):
    def offline(hub_id: str, split: str) -> pd.DataFrame:
        raise ConnectionError("Couldn't reach 'fancyzhx/ag_news' on the Hub")

    with pytest.raises(DataError, match="--from DIR") as info:
        prepare_dataset("ag_news", data_dir=tmp_path, hub_loader=offline)
    assert "fancyzhx/ag_news" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert not (tmp_path / "ag_news").exists()


def test_hub_loader_output_is_validated(tmp_path):
    frame = pd.DataFrame({"headline": ["x"], "label": [0]})
    loader = fake_hub({("fancyzhx/ag_news", "train"): frame, ("fancyzhx/ag_news", "test"): frame})
    with pytest.raises(DataError, match=r"fancyzhx/ag_news split 'train' lacks column\(s\) \['text'\]; found \['headline', 'label'\]"):
        prepare_dataset("ag_news", data_dir=tmp_path, hub_loader=loader)


# ----------------------------------------------------------------------------- loading


def test_load_split_round_trip(tmp_path):
    prepare_dataset("ag_news", source=write_ag_source(tmp_path / "src"), data_dir=tmp_path / "data")
    df = load_split("ag_news", "test", tmp_path / "data")
    assert list(df.columns) == ["text", "label"]
    assert df.index.tolist() == list(range(len(AG_TEST)))
    assert df["label"].dtype == "int64"
    pd.testing.assert_frame_equal(df, AG_TEST.astype({"label": "int64"}), check_dtype=False)
    assert load_label_names("ag_news", tmp_path / "data") == ["World", "Sports", "Business", "Sci/Tech"]


def test_load_uses_env_data_dir(tmp_path, monkeypatch):
    prepare_dataset("ag_news", source=write_ag_source(tmp_path / "src"), data_dir=tmp_path / "data")
    monkeypatch.setenv("LTP_DATA_DIR", str(tmp_path / "data"))
    assert len(load_split("ag_news", "train")) == len(AG_TRAIN)


def test_load_unknown_split(tmp_path):
    with pytest.raises(DataError, match="Available splits: train, test"):
        load_split("ag_news", "validation", tmp_path)


def test_not_prepared_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LTP_DATA_DIR", raising=False)
    with pytest.raises(DataError) as info:
        load_split("ag_news", "train")
    message = str(info.value)
    assert "not prepared in data/ag_news" in message
    assert "ltp data prepare ag_news --from DIR" in message
    assert "Hugging Face Hub" in message
    with pytest.raises(DataError, match="ltp data prepare imdb"):
        load_label_names("imdb")


def test_not_prepared_message_names_custom_dir(tmp_path):
    with pytest.raises(DataError, match=f"LTP_DATA_DIR={tmp_path} ltp data prepare imdb"):
        load_split("imdb", "test", tmp_path)


# ----------------------------------------------------------------------------- sampling


def _imbalanced(n_per_class: dict[int, int]) -> pd.DataFrame:
    labels = [label for label, count in n_per_class.items() for _ in range(count)]
    df = pd.DataFrame({"text": [f"t{i}" for i in range(len(labels))], "label": labels})
    return df.set_axis(range(1000, 1000 + len(df)))  # non-default index: ids must survive


def test_stratified_sample_proportions():
    df = _imbalanced({0: 600, 1: 300, 2: 100})
    sample = stratified_sample(df, 100, seed=0)
    assert len(sample) == 100
    assert sample["label"].value_counts().to_dict() == {0: 60, 1: 30, 2: 10}
    assert sample.index.is_unique and set(sample.index) <= set(df.index)
    pd.testing.assert_frame_equal(sample, df.loc[sample.index])  # rows keep their id


def test_stratified_sample_rounding_sums_to_n():
    df = _imbalanced({0: 5, 1: 3, 2: 2})
    for n in range(1, 10):
        assert len(stratified_sample(df, n, seed=1)) == n
    assert stratified_sample(df, 7, seed=1)["label"].value_counts().to_dict() == {0: 4, 1: 2, 2: 1}


def test_stratified_sample_deterministic():
    df = _imbalanced({0: 500, 1: 500})
    first = stratified_sample(df, 50, seed=3)
    assert first.index.tolist() == stratified_sample(df, 50, seed=3).index.tolist()
    assert first.index.tolist() != stratified_sample(df, 50, seed=4).index.tolist()
    assert first.index.is_monotonic_increasing


def test_stratified_sample_edges():
    df = _imbalanced({0: 3, 1: 2})
    assert stratified_sample(df, 5, seed=0) is df
    assert stratified_sample(df, 50, seed=0) is df
    for n in (0, -1):
        with pytest.raises(DataError, match="must be positive"):
            stratified_sample(df, n, seed=0)


# ----------------------------------------------------------------------------- real data


@pytest.mark.skipif(not (SHARED_DATA / "ag_news" / "train.parquet").is_file(), reason="no ../shared/data")
def test_prepare_real_ag_news(tmp_path):
    info = prepare_dataset("ag_news", source=SHARED_DATA, data_dir=tmp_path)
    assert info["rows"] == {"train": 47892, "test": 7600}
    assert info["label_counts"]["test"] == {name: 1900 for name in DATASETS["ag_news"].label_names}
    train = load_split("ag_news", "train", tmp_path)
    assert len(train) == 47892 and train["label"].between(0, 3).all()
    assert train["text"][0].startswith("Wall St. Bears Claw Back Into the Black")
