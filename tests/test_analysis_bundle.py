"""The analysis bundle end to end on a tiny model, tiny data and spaCy's real small English model."""

import json

import numpy as np
import pandas as pd
import pytest

from ltp.analysis import bundle as bd
from ltp.analysis.bundle import AnalysisConfig, BundleError, build_bundle, load_bundle, confusion_cells, save_bundle
from conftest import calibrate_thresholds
from ltp.cli import main


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory, tiny_backbone, toy_data_dir):
    out = tmp_path_factory.mktemp("an") / "run"
    assert main(["train", "--dataset", "toy", "--out", str(out), "--backbone", str(tiny_backbone),
                 "--data-dir", str(toy_data_dir), "--max-length", "24", "--batch-size", "8",
                 "--val-examples", "6", "--quiet"]) == 0
    return calibrate_thresholds(out / "hard", toy_data_dir)


@pytest.fixture(scope="module")
def built(ckpt_dir, toy_data_dir):
    from ltp.checkpoint import load_checkpoint

    ckpt = load_checkpoint(ckpt_dir)
    return build_bundle(ckpt, AnalysisConfig(top_k_terms=5, min_term_count=2, perplexity=5), toy_data_dir), ckpt


def test_examples_table(built, toy_data_dir):
    b, ckpt = built
    ex = b.examples
    assert len(ex) == 15 and ex["id"].tolist() == list(range(15))
    assert {"gold", "pred", "prob_0", "prob_2", "correct", "outcome", "n_tokens", "alive_1", "alive_3",
            "flops", "flops_unpruned", "truncated"} <= set(ex.columns)
    assert (ex["correct"] == (ex["gold"] == ex["pred"])).all()
    assert (ex["alive_1"] == ex["n_tokens"]).all() and (ex["alive_3"] <= ex["alive_2"]).all()
    assert (ex["alive_3"] < ex["n_tokens"]).any() and (ex["alive_3"] > 1).any()  # some pruning, not all
    np.testing.assert_allclose(ex[["prob_0", "prob_1", "prob_2"]].sum(axis=1), 1.0, atol=1e-5)


def test_words_table_and_any_piece_rule(built, toy_data_dir):
    from ltp import data

    b, ckpt = built
    w = b.words
    texts = data.load_split("toy", "test", toy_data_dir)["text"]
    # every word's span points at its text in the data set
    for row in w.sample(20, random_state=0).itertuples():
        assert texts[row.example_id][row.start:row.end] == row.text
    assert (w["depth"] >= 1).all() and (w["depth"] <= 3).all()
    assert (w["kept_last"] == (w["depth"] >= 2)).all()  # reaches the last layer = alive after layer L-1
    # any-piece rule against the model itself: recount alive tokens per example at each layer
    from ltp.trace import trace

    ex0 = w[w["example_id"] == 0]
    tr = trace(ckpt.model, ckpt.tokenizer, texts[0], ckpt.max_length, ckpt.label_names)
    for layer in range(1, 4):
        alive_pos = set(tr.layers[layer - 1].positions)
        for row in ex0.itertuples():
            pieces = [j for j, (s, e) in enumerate(tr.offsets) if e > s and s < row.end and e > row.start]
            assert (row.depth >= layer) == any(p in alive_pos for p in pieces)
    assert set(w["pos"].astype(str)) <= {"NOUN", "VERB", "ADJ", "ADP", "DET", "PROPN", "NUM", "ADV", "PRON",
                                         "AUX", "PART", "CCONJ", "PUNCT", "SCONJ", "X", "SYM", "INTJ"}
    assert w["domain_class"].between(-1, 2).all() and (w["domain_class"] >= 0).any()


def test_domain_terms_from_training_split(built):
    b, _ = built
    t = b.domain_terms
    assert set(t["class_name"]) == {"Sports", "Business", "Sci/Tech"}
    assert (t.groupby("class").size() <= 5).all()


def test_embeddings(built):
    b, _ = built
    tok, ex = b.token_embeddings, b.example_embeddings
    assert len(tok) > 0 and {"x", "y", "piece", "word", "pos", "gold", "pred", "correct", "pca_0"} <= set(tok.columns)
    assert not tok["piece"].isin(["[CLS]", "[SEP]"]).any()  # retained content tokens only
    assert tok["pca_0"].dtype == np.float16
    assert len(ex) <= 15 and ex["n_retained"].min() >= 1


def test_summary_and_round_trip(built, tmp_path):
    b, _ = built
    meta = b.summary["meta"]
    assert meta["label_names"] == ["Sports", "Business", "Sci/Tech"] and meta["num_layers"] == 3
    assert "any of its word pieces" in meta["word_rule"]
    assert {"retention_by_pos", "retention_by_category", "mean_alive_per_layer"} <= set(b.summary["statistics"])
    assert b.summary["domain_test"][-1]["class"] == "all"
    json.dumps(b.summary)  # JSON-serialisable
    path = save_bundle(b, tmp_path / "analysis")
    assert sorted(p.name for p in path.iterdir()) == sorted([f"{t}.parquet" for t in bd.TABLES] + ["summary.json"])
    import pyarrow.parquet as pq

    stored = set(pq.read_schema(path / "words.parquet").names)
    assert not stored & {"lower", "end", "kept_last"}  # derivable columns are rebuilt on load, not stored
    back = load_bundle(path)
    pd.testing.assert_frame_equal(back.words, b.words, check_categorical=False)
    pd.testing.assert_frame_equal(back.examples, b.examples)
    assert back.summary["meta"]["examples"] == 15


def test_bundle_holds_no_full_texts(built, toy_data_dir):
    from ltp import data

    b, _ = built
    texts = set(data.load_split("toy", "test", toy_data_dir)["text"])
    for name in bd.TABLES:
        df = getattr(b, name)
        for col in df.select_dtypes(include=["object", "string"]).columns:
            assert not set(df[col].astype(str)) & texts


def test_progress_callback(ckpt_dir, toy_data_dir):
    from ltp.checkpoint import load_checkpoint

    seen = []
    build_bundle(load_checkpoint(ckpt_dir), AnalysisConfig(limit=6, perplexity=2), toy_data_dir,
                 progress=lambda phase, done, total: seen.append((phase, done, total)))
    phases = [p for p, _, _ in seen]
    assert phases[0] == "model" and "spacy" in phases and phases[-1].startswith("t-SNE")
    assert ("model", 6, 6) in seen


def test_confusion_cells():
    assert confusion_cells([1, 0, 1, 0], [1, 1, 0, 0], 2).tolist() == ["TP", "FP", "FN", "TN"]
    assert confusion_cells([2, 0], [2, 1], 3).tolist() == ["TP", "FN"]


def test_missing_bundle_names_the_command(ckpt_dir):
    with pytest.raises(BundleError, match="ltp analyze --checkpoint"):
        load_bundle(ckpt_dir / "analysis-missing")


def test_analyze_cli(ckpt_dir, toy_data_dir, tmp_path, capsys):
    out = tmp_path / "bundle"
    assert main(["analyze", "--checkpoint", str(ckpt_dir), "--data-dir", str(toy_data_dir), "--out", str(out),
                 "--perplexity", "3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "retention by POS" in text and "domain terms" in text and "Sports:" in text
    assert (out / "summary.json").is_file()


def test_analyze_bad_inputs(ckpt_dir, toy_data_dir, tmp_path, capsys):
    assert main(["analyze", "--checkpoint", str(ckpt_dir), "--data-dir", str(toy_data_dir), "--limit", "0"]) == 2
    assert "limit" in capsys.readouterr().err
    assert main(["analyze", "--checkpoint", str(ckpt_dir), "--data-dir", str(tmp_path / "none")]) == 2
    assert "ltp data prepare" in capsys.readouterr().err
    empty = tmp_path / "empty-data" / "toy"
    empty.mkdir(parents=True)
    pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype="int64")}).to_parquet(empty / "test.parquet")
    import shutil

    shutil.copy(toy_data_dir / "toy" / "labels.json", empty / "labels.json")
    shutil.copy(toy_data_dir / "toy" / "train.parquet", empty / "train.parquet")
    assert main(["analyze", "--checkpoint", str(ckpt_dir), "--data-dir", str(tmp_path / "empty-data")]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["analyze", "--checkpoint", str(tmp_path / "no-such")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_old_or_damaged_bundle_names_the_command(built, tmp_path):
    b, _ = built
    path = save_bundle(b, tmp_path / "analysis")
    summary = json.loads((path / "summary.json").read_text())
    summary["meta"]["bundle_version"] = 1
    (path / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(BundleError, match="format 1.*ltp analyze"):
        load_bundle(path)
    summary["meta"]["bundle_version"] = bd.BUNDLE_VERSION
    (path / "summary.json").write_text(json.dumps(summary))
    b.words.drop(columns="depth").to_parquet(path / "words.parquet")
    with pytest.raises(BundleError, match="depth"):
        load_bundle(path)
