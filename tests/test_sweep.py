"""The trade-off sweep and the top-k stage on a tiny model."""

import json

import pytest

from ltp.checkpoint import load_checkpoint
from ltp.cli import main
from ltp.train import TrainConfig, train


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_backbone, toy_data_dir):
    out = tmp_path_factory.mktemp("sw") / "run"
    train(TrainConfig(dataset="toy", out=str(out), backbone=str(tiny_backbone), data_dir=str(toy_data_dir),
                      stages=("baseline",), max_length=24, batch_size=8, val_examples=6), show_progress=False)
    return out / "baseline"


def test_topk_stage_trains_from_baseline(baseline, tmp_path, toy_data_dir):
    cfg = TrainConfig(dataset="toy", out=str(tmp_path / "tk"), init=str(baseline), stages=("topk",),
                      topk_keep=(1.0, 0.5, 0.3), data_dir=str(toy_data_dir), max_length=24, batch_size=8,
                      val_examples=6)
    final = train(cfg, show_progress=False)
    ck = load_checkpoint(final)
    assert ck.model.mode == "topk" and ck.config["stage"] == "topk"
    assert ck.model.ltp_config.topk_keep == [1.0, 0.5, 0.3]


def test_topk_stage_validation(tmp_path):
    with pytest.raises(ValueError, match="topk"):
        TrainConfig(dataset="toy", out=str(tmp_path), stages=("baseline", "topk"), topk_keep=(1, 1, 1))
    with pytest.raises(ValueError, match="topk-keep"):
        TrainConfig(dataset="toy", out=str(tmp_path), stages=("topk",))


def test_sweep_cli_writes_points(baseline, tmp_path, toy_data_dir, capsys):
    store = tmp_path / "shipped"
    store.mkdir()
    assert main(["sweep", "--dataset", "toy", "--baseline", str(baseline), "--out", str(tmp_path / "sweep"),
                 "--targets", "1.3", "--lambdas", "0.5", "--max-train-examples", "20", "--eval-limit", "0",
                 "--batch-size", "8", "--data-dir", str(toy_data_dir), "--store-in", str(store), "--quiet"]) == 0
    assert "top-k linear" in capsys.readouterr().out
    rec = json.loads((store / "sweep.json").read_text())
    methods = [p["method"] for p in rec["points"]]
    assert methods == ["baseline"] + ["LTP", "top-k matched", "top-k linear"] * 2
    assert rec["points"][1]["target"] == 1.3 and rec["points"][4]["label"] == "lambda=0.5"
    for i in (1, 4):
        ltp_p = rec["points"][i]
        for topk_p in rec["points"][i + 1 : i + 3]:  # both baselines at the LTP point's FLOPs
            assert topk_p["flops_reduction"] == pytest.approx(ltp_p["flops_reduction"], rel=0.35)
    assert rec["points"][0]["flops_reduction"] == pytest.approx(1.0)
    assert not any(str(p["checkpoint"]).startswith("/") for p in rec["points"])  # no server paths


def test_linear_schedule_and_topk_flops_by_hand():
    from ltp.flops import layer_macs, linear_schedule, matched_linear_schedule, topk_flops_reduction

    assert linear_schedule(6, 0.2) == pytest.approx((1.0, 0.8, 0.6, 0.4, 0.2, 0.02))
    d, d_ff = 4, 16
    # one input of 10 tokens, 3 layers keeping 10, ceil(0.45 * 10) = 5, then [CLS]'s FFN alone
    import torch

    n = torch.tensor(10.0)
    run = layer_macs(n, n, d, d_ff) + layer_macs(n, torch.tensor(5.0), d, d_ff) + layer_macs(torch.tensor(5.0), torch.tensor(1.0), d, d_ff)
    full = 2 * layer_macs(n, n, d, d_ff) + layer_macs(n, torch.tensor(1.0), d, d_ff)
    assert topk_flops_reduction([10], (1.0, 0.45, 0.1), d, d_ff) == pytest.approx(float(full / run))
    lengths = [20, 50, 120, 33]
    keep = matched_linear_schedule(lengths, 2.0, 6, 384, 1536)
    assert topk_flops_reduction(lengths, keep, 384, 1536) == pytest.approx(2.0, rel=0.01)


def test_sweep_needs_a_baseline_checkpoint(tmp_path, capsys):
    assert main(["sweep", "--dataset", "toy", "--baseline", str(tmp_path / "x"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sweep", "--dataset", "toy", "--baseline", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--lambdas", "a"]) == 2
    assert "comma-separated" in capsys.readouterr().err


def test_topk_stage_from_the_cli(baseline, tmp_path, toy_data_dir):
    out = tmp_path / "tk"
    assert main(["train", "--dataset", "toy", "--out", str(out), "--init", str(baseline), "--stages", "topk",
                 "--topk-keep", "1,0.6,0.3", "--data-dir", str(toy_data_dir), "--max-length", "24",
                 "--batch-size", "8", "--val-examples", "6", "--quiet"]) == 0
    assert load_checkpoint(out).model.mode == "topk"
    assert main(["evaluate", "--checkpoint", str(out), "--data-dir", str(toy_data_dir), "--mode", "both",
                 "--no-save"]) == 0
    assert main(["train", "--dataset", "toy", "--out", str(tmp_path / "x"), "--stages", "topk",
                 "--topk-keep", "a,b"]) == 2
