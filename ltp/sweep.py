"""Accuracy vs FLOPs: LTP at several FLOPs targets (or regularisation strengths) against two
top-k baselines at the same FLOPs. Every method starts from the same fine-tuned checkpoint and
gets the same training rows (short spans included), steps, learning-rate schedule (a first
phase at the soft stage's LR, a second at the hard stage's, each with its warm-up and decay)
and teacher:

* top-k matched: at every layer the LTP point's mean kept fraction (measured on training
  texts), the stronger baseline;
* top-k linear: the official LTP code's schedule (`_set_token_keep_rate`: the first three
  layers whole, then linear to a final keep rate, floor 0.01), its final rate chosen so that
  its honest FLOPs on the training texts equal the LTP point's; where that schedule cannot
  reach them, at its floor (the point records the reduction it reaches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


from ltp.checkpoint import load_checkpoint
from ltp.files import write_json_atomic
from ltp.evaluate import evaluate
from ltp.flops import matched_official_schedule
from ltp.train import TrainConfig, train

TOPK_KINDS = ("matched", "linear")


@dataclass
class SweepConfig:
    dataset: str
    baseline: str  # the fine-tuned checkpoint every point starts from (run with pruning off as the baseline)
    out: str  # one run dir per point below this directory; sweep.json at the top
    targets: tuple[float, ...] | None = (2.0, 3.0, 4.0)  # honest FLOPs reductions (the controller)
    lambdas: tuple[float, ...] | None = None  # or fixed regularisation strengths
    topk: tuple[str, ...] = TOPK_KINDS  # top-k baselines trained for every LTP point
    max_train_examples: int | None = 8000  # the same fixed subset for every point
    soft_epochs: int = 1
    hard_epochs: int = 1
    eval_limit: int | None = 2000  # seeded stratified sample of the test split (the same for all)
    batch_size: int = 32
    seed: int = 42
    data_dir: str | None = None
    store_in: str | None = None  # also copy sweep.json into this checkpoint dir (the shipped model)

    def __post_init__(self):
        if not self.targets and not self.lambdas:
            raise ValueError("The sweep needs --targets (FLOPs reductions) or --lambdas.")
        bad = [k for k in self.topk if k not in TOPK_KINDS]
        if bad:
            raise ValueError(f"Unknown top-k baseline(s) {bad}: use {', '.join(TOPK_KINDS)}.")


def _point(method: str, label: str, res: dict, path: Path, base_eps: float | None, **extra) -> dict:
    eps = res.get("examples_per_second")
    views = {k: {"accuracy_off": v["accuracy_off"], "accuracy_on": v["accuracy_on"],
                 "flops_reduction": v["flops_reduction"]} for k, v in res.get("views", {}).items()}
    return {
        "method": method, "label": label, "checkpoint": str(path),
        "accuracy": res["accuracy"], "f1": res["f1_macro"], "flops_reduction": res["flops_reduction"],
        "flops_reduction_all_tokens": res.get("flops_reduction_all_tokens"),
        "speedup": (eps / base_eps) if eps and base_eps else None,
        "fraction_alive_per_layer": res["fraction_alive_per_layer"], "examples": res["examples"],
        **({"views": views} if views else {}), **extra,
    }


def _relative(path: Path, root: Path) -> str:
    """A point's checkpoint named relative to the sweep's folder (no server path in sweep.json)."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return Path(path).name


def run_sweep(cfg: SweepConfig, log: Callable[[str], None] = lambda msg: None, show_progress: bool = False) -> dict:
    """Train and evaluate every point; returns (and writes) the sweep record."""
    out = Path(cfg.out)
    data_dir = Path(cfg.data_dir) if cfg.data_dir else None
    base = load_checkpoint(cfg.baseline)
    common = dict(dataset=cfg.dataset, backbone=base.config["backbone"]["spec"], init=str(base.path),
                  max_length=base.max_length, truncation=base.truncation, max_train_examples=cfg.max_train_examples,
                  batch_size=cfg.batch_size, seed=cfg.seed, data_dir=cfg.data_dir, teacher=str(base.path))
    ev = dict(limit=cfg.eval_limit, data_dir=data_dir, seed=0)
    base_res = evaluate(base, mode="none", **ev)
    base_eps = base_res["examples_per_second"]
    points = [_point("baseline", "unpruned", base_res, Path(base.path.name), base_eps)]
    log(f"baseline: accuracy {base_res['accuracy']:.4f}")
    settings = [("target", t) for t in cfg.targets or ()] + [("lambda", lam) for lam in cfg.lambdas or ()]
    for kind, value in settings:
        name = f"{kind}{value:g}"
        run = out / f"ltp-{name}"
        opts = {"target_flops_reduction": value} if kind == "target" else {"mask_lambda": value}
        final = train(TrainConfig(out=str(run), stages=("soft", "hard"), soft_epochs=cfg.soft_epochs,
                                  hard_epochs=cfg.hard_epochs, **opts, **common), show_progress=show_progress)
        ltp_ck = load_checkpoint(final)
        res = evaluate(ltp_ck, mode="hard", **ev)
        label = f"target {value:g}x" if kind == "target" else f"lambda={value:g}"
        points.append(_point("LTP", label, res, Path(_relative(final, out)), base_eps,
                             **({"target": value} if kind == "target" else {})))
        log(f"LTP {label}: accuracy {res['accuracy']:.4f}, FLOPs reduction {res['flops_reduction']:.2f}x")
        if cfg.topk:
            points += _topk_points(cfg, ltp_ck, name, label, out, common, ev, base_eps, log, show_progress)
    record = {"config": {**asdict(cfg), "baseline": base.path.name, "out": out.name,
                         "store_in": Path(cfg.store_in).name if cfg.store_in else None},
              "points": points,
              "note": "FLOPs reductions are honest (the last layer's FFN runs for [CLS] alone in both counts); "
                      "speed-up = examples/s of the point / examples/s of the unpruned baseline, measured in the "
                      "same process on the evaluation sample (batch 64), on whatever else shared the CPU: "
                      "`ltp bench` is the speed measurement"}
    write_json_atomic(out / "sweep.json", record)
    if cfg.store_in:
        write_json_atomic(Path(cfg.store_in) / "sweep.json", record)
    return record


def _topk_points(cfg, ltp_ck, name, label, out, common, ev, base_eps, log, show_progress) -> list[dict]:
    """The top-k baselines of one LTP point, at its FLOPs on training texts."""
    from ltp.text import encode

    # schedules come from training texts, so the test set only ever scores
    train_res = evaluate(ltp_ck, split="train", limit=cfg.eval_limit or 2000, mode="hard",
                         data_dir=ev["data_dir"], seed=1, views=False)
    model = ltp_ck.model
    points = []
    for kind in cfg.topk:
        extra = {}
        if kind == "matched":
            keep = tuple(min(1.0, max(f, 1e-3)) for f in train_res["fraction_alive_per_layer"])
        else:
            from ltp.evaluate import evaluation_examples

            texts = evaluation_examples(ltp_ck, "train", cfg.eval_limit or 2000, ev["data_dir"], seed=1)["text"].tolist()
            lengths = [len(x) for x in encode(ltp_ck.tokenizer, texts, ltp_ck.max_length, ltp_ck.truncation).input_ids]
            keep, reached = matched_official_schedule(lengths, train_res["flops_reduction"], model.num_layers,
                                                      model.hidden_size, model.intermediate_size)
            extra = {"schedule_rule": "official (kssteven418/LTP _set_token_keep_rate)",
                     "schedule_reaches_on_train": round(reached, 3)}
        final = _train_topk(out / f"topk-{kind}-{name}", tuple(round(k, 4) for k in keep), cfg, common,
                            prune_first_layer=ltp_ck.model.ltp_config.prune_first_layer, show_progress=show_progress)
        res = evaluate(load_checkpoint(final), mode="topk", **ev)
        points.append(_point(f"top-k {kind}", f"{kind}, at {label}", res, Path(_relative(final, out)), base_eps,
                             schedule=[round(k, 4) for k in keep], **extra))
        log(f"top-k {kind} at {label}: accuracy {res['accuracy']:.4f}, FLOPs reduction {res['flops_reduction']:.2f}x")
    return points


def _train_topk(run: Path, keep: tuple[float, ...], cfg: SweepConfig, common: dict, prune_first_layer: bool,
                show_progress: bool) -> Path:
    """Top-k with LTP's schedule: soft_epochs at the soft stage's LR, then hard_epochs at the
    hard stage's (each phase with its own warm-up and decay, as LTP's two stages); same rows,
    spans and teacher. Returns the final checkpoint."""
    kw = dict(common, stages=("topk",), topk_keep=keep, prune_first_layer=prune_first_layer)
    first = train(TrainConfig(**{**kw, "out": str(run / "phase1"), "topk_epochs": cfg.soft_epochs,
                                 "topk_lr": TrainConfig.soft_lr}), show_progress=show_progress)
    return train(TrainConfig(**{**kw, "out": str(run), "init": str(first), "topk_epochs": cfg.hard_epochs,
                                "topk_lr": TrainConfig.hard_lr}), show_progress=show_progress)


__all__ = ["SweepConfig", "run_sweep"]
