"""Stored results: the key type, the pruning-mode rule, damaged files, the baseline lookups."""

from __future__ import annotations

import json

import pytest

from conftest import fake_checkpoint as _checkpoint

from ltp import results as res


def test_result_keys_round_trip():
    assert res.ResultKey.parse("test/hard") == res.ResultKey("test", "hard")
    assert res.ResultKey.parse("baseline/test") == res.ResultKey("test", res.BASELINE)
    assert str(res.ResultKey("test", res.BASELINE)) == "baseline/test"
    assert str(res.ResultKey("train", "none")) == "train/none"
    for bad in ("test", "/hard", "test/"):
        with pytest.raises(ValueError, match="not a results key"):
            res.ResultKey.parse(bad)
    keyed = res.keyed_results({"test/hard": {}, "baseline/test": {}, "notes": "x"})
    assert [k for k, _ in keyed] == [res.ResultKey("test", "hard"), res.ResultKey("test", res.BASELINE)]


def test_pruning_mode_rule():
    assert [res.pruning_mode(m) for m in ("hard", "topk", "soft", "none")] == ["hard", "topk", "hard", "hard"]


def test_result_lookups():
    metrics = {"test/hard": {"accuracy": 0.8, "sample": "s"}, "test/soft": {"accuracy": 0.7},
               "test/none": {"accuracy": 0.9}}
    assert res.pruned_result(metrics, "soft")["accuracy"] == 0.8  # a soft checkpoint prunes in hard mode
    assert res.pruned_result({"test/soft": {"a": 1}}, "soft") == {"a": 1}
    assert res.headline_result(metrics, "soft")["accuracy"] == 0.7 and res.headline_result({}, "hard") == {}
    assert res.same_examples({"sample": "s"}, metrics["test/hard"]) and not res.same_examples(None, {"sample": "s"})
    new = {"flops_accounting": "x", "flops_reduction": 2.0, "flops_reduction_all_tokens": 1.5}
    assert res.flops_columns(new) == (2.0, 1.5)
    assert res.flops_columns({"flops_reduction": 1.5}) == (None, 1.5) and res.flops_columns(None) == (None, None)
    assert res.flops_columns({"mode": "none", "flops_reduction": 1.0}) == (1.0, 1.0)  # unpruned: 1x either way


def test_read_json(tmp_path):
    assert res.read_json(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(res.ResultsError, match="corrupt"):
        res.read_json(tmp_path / "bad.json")


def test_readers_name_the_command_that_rewrites(tmp_path):
    assert res.read_metrics(tmp_path) == {} and res.read_sweep(tmp_path) == {}
    (tmp_path / "bench.json").write_text("[1, 2]")
    with pytest.raises(res.ResultsError, match="ltp bench"):
        res.read_bench(tmp_path)
    assert res.read_or_empty(res.read_bench, tmp_path) == {}
    (tmp_path / "sweep.json").write_text(json.dumps([{"method": "LTP"}]))  # an older bare list of points
    assert res.read_sweep(tmp_path) == {"points": [{"method": "LTP"}]}


def test_baseline_result_lookups(tmp_path):
    _checkpoint(tmp_path / "runs" / "r0" / "baseline", {"test/none": {"accuracy": 0.9}}, stage="baseline")
    ck = _checkpoint(tmp_path / "models" / "m", training={"config": {"init": "runs/r0/baseline"}})
    assert res.baseline_result(ck, repo=tmp_path)["accuracy"] == 0.9  # the --init baseline
    assert res.baseline_result(ck, repo=tmp_path, metrics={"baseline/test": {"accuracy": 0.5}})["accuracy"] == 0.5
    assert res.baseline_result(_checkpoint(tmp_path / "x"), repo=tmp_path) is None
    _checkpoint(tmp_path / "run" / "baseline", {"test/none": {"accuracy": 0.7}}, stage="baseline")
    assert res.baseline_result(_checkpoint(tmp_path / "run" / "hard"))["accuracy"] == 0.7  # sibling stage
    soft = _checkpoint(tmp_path / "models" / "s", training={"config": {"init": str(tmp_path / "run" / "hard")}})
    assert res.baseline_result(soft) is None  # --init was not a baseline
    assert res.find_baseline(tmp_path / "run" / "hard") == tmp_path / "run" / "baseline"
    assert res.find_baseline(soft) is None
