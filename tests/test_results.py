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


def _flops(result: dict) -> tuple:
    found = res.parse_results({"test/hard": result}).evaluation("test", "hard")
    return found.flops_reduction, found.flops_reduction_all_tokens


def test_result_lookups():
    metrics = {"test/hard": {"accuracy": 0.8, "sample": "s"}, "test/soft": {"accuracy": 0.7},
               "test/none": {"accuracy": 0.9}}
    soft = res.parse_results(metrics, own_mode="soft")
    assert soft.pruned().accuracy == 0.8  # a soft checkpoint prunes in hard mode
    assert res.parse_results({"test/soft": {"accuracy": 1}}, own_mode="soft").pruned().accuracy == 1
    assert soft.headline().accuracy == 0.7 and res.parse_results({}).headline() is None
    other = res.parse_results({"test/none": {"sample": "s"}}).unpruned()
    assert res.same_examples(other, soft.pruned()) and not res.same_examples(None, other)
    assert _flops({"flops_accounting": "x", "flops_reduction": 2.0, "flops_reduction_all_tokens": 1.5}) == (2.0, 1.5)
    assert _flops({"flops_reduction": 1.5}) == (None, 1.5) and _flops({}) == (None, None)
    assert _flops({"mode": "none", "flops_reduction": 1.0}) == (1.0, 1.0)  # unpruned: 1x either way


def test_bench_records_find_pruning_on_by_one_rule():
    entry = {"device": "CPU", "none": {"throughput_bs8": 10.0, "throughput_bs8_runs": [9.0, 10.0]},
             "hard": {"mode": "topk", "throughput_bs8": 20.0}, "speedup_throughput_bs8": 2.0, "flops_reduction": 3.0}
    stored = res.parse_results({}, {"cpu": entry, "junk": 3}, own_mode="topk")
    (b,) = stored.bench
    assert b.complete and b.batch == 8 and b.on.mode == "topk" and b.off.throughput == {8: 10.0}
    assert stored.speed is b and not b.flops_honest and b.measured_at is None
    assert not res.parse_results({}, {"cpu": {"none": {}}}).speed


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
    def baseline(path, **kw):
        return res.baseline_of(res.load_results(path), **kw)

    assert baseline(ck, repo=tmp_path).accuracy == 0.9  # the --init baseline
    stored = res.parse_results({"baseline/test": {"accuracy": 0.5}}, path=ck)
    assert res.baseline_of(stored, repo=tmp_path).accuracy == 0.5
    assert baseline(_checkpoint(tmp_path / "x"), repo=tmp_path) is None
    _checkpoint(tmp_path / "run" / "baseline", {"test/none": {"accuracy": 0.7}}, stage="baseline")
    assert baseline(_checkpoint(tmp_path / "run" / "hard")).accuracy == 0.7  # sibling stage
    soft = _checkpoint(tmp_path / "models" / "s", training={"config": {"init": str(tmp_path / "run" / "hard")}})
    assert baseline(soft) is None  # --init was not a baseline
    assert res.find_baseline(tmp_path / "run" / "hard") == tmp_path / "run" / "baseline"
    assert res.find_baseline(soft) is None
