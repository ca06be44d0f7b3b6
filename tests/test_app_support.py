"""The dashboard's own helpers (app/support.py): finding checkpoints, model cards, tables, snippets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import fake_checkpoint as _checkpoint

from ltp import results as res
from ltp.errors import CheckpointError

APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:  # the pages import it as `support`, with app/ on sys.path
    sys.path.insert(0, str(APP))
from support import bench_speed, bundle_views, cards, csv_export, markup, places, sweeps, tables, threads  # noqa: E402


def test_locations_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(places.MODELS_DIR_ENV, raising=False)
    monkeypatch.delenv(places.DATA_DIR_ENV, raising=False)
    assert places.models_dir(tmp_path) == tmp_path / "models" and places.data_dir(tmp_path) == tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    assert places.prepare_hint("imdb", tmp_path / "data") == "ltp data prepare imdb --from DIR"
    assert places.prepare_hint("imdb", tmp_path / "x") == f"LTP_DATA_DIR={tmp_path / 'x'} ltp data prepare imdb --from DIR"
    monkeypatch.setenv(places.MODELS_DIR_ENV, str(tmp_path / "m"))
    monkeypatch.setenv(places.DATA_DIR_ENV, str(tmp_path / "d"))
    assert places.models_dir(tmp_path) == tmp_path / "m" and places.data_dir(tmp_path) == tmp_path / "d"
    assert places.prepare_hint("imdb", tmp_path / "d") == "ltp data prepare imdb --from DIR"


def test_dataset_prepared(tmp_path):
    assert not places.dataset_prepared("toy", tmp_path) and not places.dataset_prepared(None, tmp_path)
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "labels.json").write_text("{}")
    assert not places.dataset_prepared("toy", tmp_path)
    (tmp_path / "toy" / "test.parquet").write_bytes(b"")
    assert places.dataset_prepared("toy", tmp_path)


def test_discover_checkpoints_sorted_with_run_dirs(tmp_path):
    assert places.discover_checkpoints(tmp_path / "missing") == []
    _checkpoint(tmp_path / "b-model")
    _checkpoint(tmp_path / "a-run" / "hard")
    (tmp_path / "notes").mkdir()
    (tmp_path / "file.txt").write_text("x")
    _checkpoint(tmp_path / ".hidden")
    assert [p.name for p in places.discover_checkpoints(tmp_path)] == ["a-run", "b-model"]


def test_resolve_checkpoint(tmp_path, monkeypatch):
    ck = _checkpoint(tmp_path / "repo" / "models" / "m")
    monkeypatch.chdir(tmp_path)
    assert places.resolve_checkpoint("", ck, tmp_path / "repo") == ck
    assert places.resolve_checkpoint("models/m", None, tmp_path / "repo") == tmp_path / "repo" / "models" / "m"
    with pytest.raises(CheckpointError, match="ltp train"):
        places.resolve_checkpoint("  ", None, tmp_path / "repo")
    with pytest.raises(CheckpointError, match="does not exist"):
        places.resolve_checkpoint("nowhere", ck, tmp_path / "repo")  # a typed path wins over the picked one
    (tmp_path / "plain").mkdir()
    with pytest.raises(CheckpointError, match="not an ltp-lens checkpoint"):
        places.resolve_checkpoint(str(tmp_path / "plain"), None, tmp_path)


def test_model_card_with_and_without_metrics(tmp_path):
    metrics = {"test/hard": {"split": "test", "mode": "hard", "sample": "full split (15)", "accuracy": 0.8,
                             "f1_macro": 0.75, "flops_reduction": 2.5}}
    card = cards.model_card(_checkpoint(tmp_path / "m", metrics))
    assert card["dataset"] == "toy" and card["num_layers"] == 3 and card["labels"] == ["A", "B"]
    assert card["thresholds"] == [None, 0.01, 0.02] and card["mode"] == "hard"
    assert card["accuracy"] == 0.8 and card["flops_reduction"] == 2.5
    text = cards.model_card_markdown(card)
    assert "0.8000" in text and "2.50x fewer FLOPs" in text and "–, 0.0100, 0.0200" in text
    bare = cards.model_card(_checkpoint(tmp_path / "n"))
    assert bare["accuracy"] is None
    assert "ltp evaluate --checkpoint" in cards.model_card_markdown(bare)
    (tmp_path / "n" / "metrics.json").write_text("{broken")
    assert cards.model_card(tmp_path / "n")["accuracy"] is None  # a corrupt file does not break the sidebar


def test_model_card_markdown_escapes_data():
    text = cards.model_card_markdown({"dataset": "<b>*x*</b>", "labels": ["a"], "backbone": "b", "model_type": "m",
                                    "num_layers": 1, "hidden_size": 2, "stage": "hard", "mode": "hard",
                                    "max_length": 8, "thresholds": [None], "accuracy": None, "path": "p"})
    assert "<b>" not in text and "\\*x\\*" in text


def test_metrics_and_per_class_tables():
    hard = {"examples": 10, "accuracy": 0.9, "precision_macro": 0.8, "recall_macro": 0.7, "f1_macro": 0.75,
            "mean_input_tokens": 20.0, "tokens_alive_per_layer": [20, 10, 5], "flops_reduction": 2.0,
            "examples_per_second": 100.0, "per_class": {"A": {"precision": 1, "recall": 0.5, "f1": 0.6, "support": 4}}}
    stored = res.parse_results({"test/hard": hard, "test/none": {**hard, "flops_reduction": 1.0},
                                "baseline/test": {**hard, "accuracy": 0.92}})
    table = tables.metrics_table(stored, baseline=stored.stored_baseline())
    assert table["Model"].tolist() == ["baseline (fine-tuned, no LTP)", "this model, pruning off", "LTP (hard pruning)"]
    assert table["Tokens, last layer"].tolist() == [5, 5, 5] and table["Accuracy"].iloc[0] == 0.92
    assert 100.0 not in table.to_numpy()  # evaluate's examples/s is no benchmark: not on the page
    assert not [c for c in table.columns if "_" in c]
    assert tables.metrics_table(res.parse_results({})).empty
    assert tables.per_class_table(stored.pruned()).to_dict("records") == [{"Class": "A", "Precision": 1, "Recall": 0.5, "F1": 0.6,
                                                             "Support": 4}]
    config = tables.column_config(table)
    assert config["Accuracy"]["type_config"]["format"] == "%.4f" and "macro" in config["F1"]["help"].lower()
    assert "Model" not in config  # text columns without a known meaning are left alone


BENCH = {"cpu": {"device": "CPU x", "config": {"split": "test"},
                 "none": {"throughput_bs32": 100.0, "latency_ms_median": 10.0, "threads": 2, "examples": 500},
                 "hard": {"throughput_bs32": 150.0, "latency_ms_median": 8.0}, "speedup_throughput_bs32": 1.5,
                 "speedup_latency_median": 1.25, "flops_reduction": 2.0, "flops_to_time_bs32": 0.75},
         "junk": 3}


def _bench(bench: dict) -> res.Results:
    return res.parse_results({}, bench)


def test_bench_table():
    t = tables.bench_table(_bench(BENCH).bench)
    assert len(t) == 1 and t["Batch"].iloc[0] == 32 and t["Throughput speed-up"].iloc[0] == 1.5
    assert t["Share of FLOPs saving as time"].iloc[0] == 0.75 and t["FLOPs count"].iloc[0] == "all tokens"
    assert t["Threads"].iloc[0] == 2
    assert tables.bench_table(()).empty


def test_headline_speed_comes_from_the_bench_with_its_source():
    speed = bench_speed.headline_speed(_bench(BENCH))
    assert speed["speedup"] == 1.5 and speed["batch"] == 32 and speed["key"] == "cpu"
    assert speed["source"] == "`ltp bench` · CPU x · 2 threads · batch 32 · 500 test texts · date not recorded"
    dated = {"gpu": {**BENCH["cpu"], "device": "GPU", "measured_at": "2026-11-30"}}
    assert bench_speed.headline_speed(_bench(dated))["source"].endswith("· 2026-11-30")
    assert bench_speed.headline_speed(_bench({})) is None and bench_speed.headline_speed(_bench({"cpu": {"none": {}}})) is None


def test_time_vs_flops_is_computed_not_claimed():
    metrics = {"test/hard": {"flops_accounting": "honest", "flops_reduction": 1.5, "sample": "full split of 10"}}
    found = bench_speed.time_vs_flops(res.parse_results(metrics, BENCH))
    assert found["verdict"] == "about as much as" and found["flops_count"] == "honest"
    faster = bench_speed.time_vs_flops(res.parse_results({"test/hard": {**metrics["test/hard"], "flops_reduction": 1.2}}, BENCH))
    slower = bench_speed.time_vs_flops(res.parse_results({"test/hard": {**metrics["test/hard"], "flops_reduction": 3.0}}, BENCH))
    assert faster["verdict"] == "more than" and slower["verdict"] == "less than"
    text = bench_speed.time_vs_flops_sentence(slower, "m")
    assert "**1.50x**" in text and "**3.00x**" in text and "**less than**" in text and "`ltp bench` · CPU x" in text
    assert bench_speed.time_vs_flops(res.parse_results({}, BENCH)) is None
    assert bench_speed.time_vs_flops(res.parse_results(metrics, {})) is None


def _swept(folder: Path) -> res.Results:
    return res.parse_results({}, sweep=res.read_sweep(folder), path=folder)


def test_sweep_points(tmp_path):
    assert sweeps.sweep_points(_swept(tmp_path)) is None
    points = [{"method": "LTP", "label": "lambda=0.1", "accuracy": 0.9, "f1": 0.9, "flops_reduction": 2.0,
               "speedup": 1.5, "fraction_alive_per_layer": [1, 0.5]}]
    (tmp_path / "sweep.json").write_text(json.dumps(points))
    df = sweeps.sweep_points(_swept(tmp_path))
    assert list(df.columns) == list(sweeps.SWEEP_COLUMNS) and df["accuracy"].iloc[0] == 0.9
    (tmp_path / "sweep.json").write_text(json.dumps({"config": {}, "points": points}))  # `ltp sweep`'s record
    assert len(sweeps.sweep_points(_swept(tmp_path))) == 1
    (tmp_path / "sweep.json").write_text(json.dumps([{"method": "LTP"}]))
    with pytest.raises(ValueError, match="lacks field"):
        sweeps.sweep_points(_swept(tmp_path))
    assert "--store-in" in sweeps.sweep_command(tmp_path, "toy")


def test_sweep_table_and_shipped_point_use_the_sweeps_flops_count():
    old = pd.DataFrame({"method": ["LTP"], "label": ["l"], "accuracy": [0.9], "f1": [0.9], "flops_reduction": [1.3],
                        "speedup": [1.97], "examples": [2000]})
    table = sweeps.sweep_table(old)
    assert list(table.columns) == ["Method", "Point", "Accuracy", "Macro F1", "FLOPs reduction (all-tokens)", "Texts"]
    assert 1.97 not in table.to_numpy()  # the sweep's in-process speed-up is no benchmark
    hard = {"accuracy": 0.93, "flops_accounting": "honest", "flops_reduction": 1.52,
            "flops_reduction_all_tokens": 1.71, "sample": "full split of 7600"}
    star = sweeps.shipped_point(res.parse_results({"test/hard": hard}), old, "this model")
    assert star["flops_reduction"] == 1.71 and star["accuracy"] == 0.93 and star["flops_count"] == "all-tokens"
    assert "full split of 7600" in star["note"] and "2,000" in star["note"]
    new = old.assign(flops_reduction_all_tokens=[1.5])
    assert sweeps.shipped_point(res.parse_results({"test/hard": hard}), new, "m")["flops_reduction"] == 1.52
    assert "FLOPs reduction (honest)" in sweeps.sweep_table(new).columns
    assert sweeps.shipped_point(res.parse_results({}), old, "m") is None


def test_file_names_and_filter_columns():
    assert csv_export.file_slug("retained words", "Sci/Tech", "TP", "layer 5", "") == "retained-words_Sci-Tech_TP_layer-5"
    assert csv_export.file_slug("", "//") == "table"
    df = csv_export.with_filters(pd.DataFrame({"Word": ["a"]}), {"Class": "World", "Layer": 5})
    assert list(df.columns) == ["Class", "Layer", "Word"] and df.iloc[0].tolist() == ["World", 5, "a"]
    labels = tables.score_column_config(["row", "prediction_pruned", "alive_after_layer_3", "other"])
    assert labels["prediction_pruned"]["label"] == "Prediction (LTP)" and "other" not in labels
    assert labels["alive_after_layer_3"]["label"] == "Alive after layer 3"


def test_with_names_and_snippets():
    names = ["World", "Sports"]
    pts = pd.DataFrame({"example_id": [0, 0, 1, 7], "word_index": [1, 0, 0, 0], "gold": [0, 0, 1, 1],
                        "pred": [0, 1, 1, 1], "correct": [True, False, True, True]})
    out = bundle_views.with_names(pts, names)
    assert out["gold_class"].tolist() == ["World", "World", "Sports", "Sports"]
    assert out["correctness"].tolist() == ["correct", "wrong", "correct", "correct"]
    words = pd.DataFrame({"example_id": [0, 0, 1], "word_index": [0, 1, 0], "start": [0, 4, 3], "end": [3, 8, 6]})
    texts = pd.Series({0: "The <b>best</b>\nthing", 1: "an excellent idea " + "x" * 80})
    snip = bundle_views.context_snippets(pts, words, texts, width=5)
    assert snip.iloc[0] == "The «<b>b»est</…" and snip.iloc[1] == "«The» <b>b…"
    assert snip.iloc[2] == "an «exc»ellen…" and snip.iloc[3] == ""  # example 7 is unknown
    prev = bundle_views.text_previews(pd.Series([1, 9]), texts, chars=5)
    assert prev.tolist() == ["an ex…", ""]


def test_progress_fraction_and_csv():
    assert bundle_views.progress_fraction("model", 0, 10) == 0.0
    assert bundle_views.progress_fraction("model", 10, 10) == pytest.approx(0.4)
    assert 0.4 < bundle_views.progress_fraction("spacy", 5, 10) < 0.85
    assert bundle_views.progress_fraction("t-SNE (examples)", 1, 1) == 1.0
    assert bundle_views.progress_fraction("unknown", 3, 0) == 1.0
    csv = csv_export.to_csv_bytes(pd.DataFrame({"word": ["é", "a,b"], "count": [1, 2]}))
    assert csv.decode("utf-8").splitlines() == ["word,count", "é,1", '"a,b",2']


def test_torch_threads_restores_the_setting():
    import torch

    before = torch.get_num_threads()
    with threads.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), threads.torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_printable_keeps_offsets():
    raw = "a\x00b\tc\n\x1bd\x7f"
    out = markup.printable(raw)
    assert len(out) == len(raw) and out == "a\u2400b\tc\n\u241bd\u2421"
