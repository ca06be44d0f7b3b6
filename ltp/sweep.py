"""Accuracy vs FLOPs trade-off: LTP at several regularisation strengths against a top-k
baseline that keeps, at every layer, the same mean fraction of tokens as the LTP point it is
matched to (so their FLOPs match), by the same importance score, with the same fine-tuning
budget (soft + hard epochs of LTP = topk epochs) from the same baseline checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ltp.checkpoint import load_checkpoint, write_json_atomic
from ltp.evaluate import evaluate
from ltp.train import TrainConfig, train


@dataclass
class SweepConfig:
    dataset: str
    baseline: str  # baseline-stage checkpoint every point starts from
    out: str  # one run dir per point below this directory; sweep.json at the top
    lambdas: tuple[float, ...] = (0.01, 0.05, 0.2)
    topk: bool = True  # also train the matched top-k baseline for each lambda
    max_train_examples: int | None = 8000  # the same fixed subset for every point
    soft_epochs: int = 1
    hard_epochs: int = 1
    threshold_lr: float = 1e-3
    eval_limit: int | None = 2000  # seeded stratified sample of the test split (the same for all)
    batch_size: int = 32
    seed: int = 42
    data_dir: str | None = None
    store_in: str | None = None  # also copy sweep.json into this checkpoint dir (the shipped model)


def _point(method: str, label: str, res: dict, path: Path, base_eps: float | None) -> dict:
    eps = res.get("examples_per_second")
    return {
        "method": method, "label": label, "checkpoint": str(path),
        "accuracy": res["accuracy"], "f1": res["f1_macro"], "flops_reduction": res["flops_reduction"],
        "speedup": (eps / base_eps) if eps and base_eps else None,
        "fraction_alive_per_layer": res["fraction_alive_per_layer"], "examples": res["examples"],
    }


def run_sweep(cfg: SweepConfig, log: Callable[[str], None] = lambda msg: None, show_progress: bool = False) -> dict:
    """Train and evaluate every point; returns (and writes) the sweep record."""
    out = Path(cfg.out)
    data_dir = Path(cfg.data_dir) if cfg.data_dir else None
    base = load_checkpoint(cfg.baseline)
    if base.config["stage"] != "baseline":
        raise ValueError(f"{cfg.baseline} is a {base.config['stage']} checkpoint; the sweep starts from a baseline one.")
    common = dict(dataset=cfg.dataset, backbone=base.config["backbone"]["spec"], init=str(base.path),
                  max_length=base.max_length, truncation=base.truncation, max_train_examples=cfg.max_train_examples,
                  batch_size=cfg.batch_size, seed=cfg.seed, data_dir=cfg.data_dir)
    base_res = evaluate(base, limit=cfg.eval_limit, mode="none", data_dir=data_dir, seed=0)
    base_eps = base_res["examples_per_second"]
    points = [_point("baseline", "unpruned", base_res, base.path, base_eps)]
    log(f"baseline: accuracy {base_res['accuracy']:.4f}")
    for lam in cfg.lambdas:
        run = out / f"ltp-lambda{lam:g}"
        final = train(TrainConfig(out=str(run), stages=("soft", "hard"), mask_lambda=lam, soft_epochs=cfg.soft_epochs,
                                  hard_epochs=cfg.hard_epochs, threshold_lr=cfg.threshold_lr, **common),
                      show_progress=show_progress)
        res = evaluate(load_checkpoint(final), limit=cfg.eval_limit, mode="hard", data_dir=data_dir, seed=0)
        points.append(_point("LTP", f"lambda={lam:g}", res, final, base_eps))
        log(f"LTP lambda={lam:g}: accuracy {res['accuracy']:.4f}, FLOPs reduction {res['flops_reduction']:.2f}x")
        if not cfg.topk:
            continue
        # the matched schedule comes from training texts, so the test set only ever scores
        train_fracs = evaluate(load_checkpoint(final), split="train", limit=cfg.eval_limit or 2000, mode="hard",
                               data_dir=data_dir, seed=1)["fraction_alive_per_layer"]
        keep = tuple(min(1.0, max(f, 1e-3)) for f in train_fracs)
        trun = out / f"topk-matched-lambda{lam:g}"
        tfinal = train(TrainConfig(out=str(trun), stages=("topk",), topk_keep=keep,
                                   topk_epochs=cfg.soft_epochs + cfg.hard_epochs, **common), show_progress=show_progress)
        tres = evaluate(load_checkpoint(tfinal), limit=cfg.eval_limit, mode="topk", data_dir=data_dir, seed=0)
        points.append(_point("top-k", f"matched to lambda={lam:g}", tres, tfinal, base_eps))
        log(f"top-k matched: accuracy {tres['accuracy']:.4f}, FLOPs reduction {tres['flops_reduction']:.2f}x")
    record = {"config": asdict(cfg), "points": points,
              "note": "speed-up = examples/s of the point / examples/s of the unpruned baseline, "
                      "measured in the same process on the evaluation sample (batch 64)"}
    write_json_atomic(out / "sweep.json", record)
    if cfg.store_in:
        write_json_atomic(Path(cfg.store_in) / "sweep.json", record)
    return record

