"""Running the stages of a run: which are skipped (finished) or resumed (interrupted), the
model each starts from, FLOPs-target calibration, and saving each stage's checkpoint."""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ltp.backbones import load_tokenizer
from ltp.checkpoint import (
    ALL_STAGES,
    STAGES,
    find_checkpoint,
    load_checkpoint,
    read_config,
    save_checkpoint,
)
from ltp.errors import CheckpointError
from ltp.files import write_json_atomic
from ltp.model import LTPConfig, LTPForSequenceClassification, build_model
from ltp.train import loop, resume
from ltp.train.batches import TrainData, load_train_data
from ltp.train.config import STAGE_MODE, TrainConfig
from ltp.train.controller import binarised_reduction, calibrate_thresholds, final_calibration
from ltp.train.distill import TeacherTargets, teacher_targets


class _RunLog:
    """Appends records to the run's train_log.jsonl (main process only) and shows them via log_fn."""

    def __init__(self, path: Path, is_main: bool, log_fn: Callable[[dict], None] | None):
        self.path, self.is_main, self.log_fn = path, is_main, log_fn

    def __call__(self, record: dict) -> None:
        if not self.is_main:
            return
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.log_fn:
            self.log_fn(record)


def train(cfg: TrainConfig, show_progress: bool = True, log_fn: Callable[[dict], None] | None = None) -> Path:
    """Run the requested stages; finished stages are skipped, interrupted ones resume.

    Returns the directory of the last stage's checkpoint.
    """
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env, set_seed

    # several processes under `accelerate launch`: only the main one writes. PartialState ignores
    # ACCELERATE_USE_CPU (Accelerator reads it), so CPU processes would each train alone without it
    state = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))
    run_dir = Path(cfg.out)
    if state.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / "train_config.json", asdict(cfg))
    log = _RunLog(run_dir / "train_log.jsonl", state.is_main_process, log_fn)
    cfg = replace(cfg, backbone=_effective_backbone(cfg, run_dir))
    set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.backbone)
    data = None
    previous = Path(cfg.init) if cfg.init else None
    stage_info = {}
    teacher: Path | None | bool = False  # resolved at the first pruning stage that trains
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
        if teacher is False and stage != "baseline":
            teacher = resolve_teacher(cfg, previous)
        _train_stage(stage, previous, data, tokenizer, cfg, stage_info, log, state, show_progress,
                     teacher if stage != "baseline" else None)
        previous = target
    return previous


def resolve_teacher(cfg: TrainConfig, start: Path | None) -> Path | None:
    """The checkpoint the pruning stages distil (run with pruning off), or None ("none").

    "auto": the fine-tuned checkpoint the pruning starts from; a pruned start (--stages hard
    from a soft checkpoint) names the teacher it learned from, else it is its own teacher."""
    if cfg.teacher == "none":
        return None
    if cfg.teacher != "auto":
        return find_checkpoint(Path(cfg.teacher))
    if start is None:
        return None  # the stage itself then says that it needs a checkpoint to start from
    start = find_checkpoint(start)
    stages = read_config(start).get("training", {}).get("stages", {})
    recorded = next((info["teacher"] for info in stages.values() if isinstance(info, dict) and info.get("teacher")),
                    None)
    return Path(recorded) if recorded and Path(recorded).exists() else start


def _train_stage(stage: str, previous: Path | None, data: TrainData, tokenizer, cfg: TrainConfig, stage_info: dict,
                 log: _RunLog, state, show_progress: bool, teacher: Path | None = None) -> None:
    """Train one unfinished stage from `previous`, record it in stage_info and save its checkpoint."""
    from accelerate.utils import set_seed

    run_dir = Path(cfg.out)
    model, frozen = _stage_model(stage, previous, cfg, data.label_names)
    log({"stage": stage, "event": "start", "examples": len(data.for_stage(stage)[0]),
         "epochs": cfg.stage_epochs(stage)})
    targets = None
    if teacher is not None:
        t0 = time.perf_counter()
        targets = teacher_targets(teacher, data.for_stage(stage)[0], tokenizer.pad_token_id, run_dir,
                                  state.is_main_process, state.wait_for_everyone)
        log({"stage": stage, "event": f"teacher {teacher}: {len(targets.logits)} rows",
             "seconds": round(time.perf_counter() - t0, 1)})
    calibration = None
    calibrates = cfg.target_flops_reduction and cfg.calibrate
    if stage in ("soft", "hard") and calibrates and not (run_dir / f".resume-{stage}").exists():
        # soft: start the learned thresholds where the binarised model meets the target, so the
        # weights train at that pruning from the first step; hard: correct what binarising moved
        calibration = calibrate_thresholds(model, data.ids, tokenizer.pad_token_id, cfg.target_flops_reduction,
                                           cfg.calibration_examples, cfg.seed, constant=stage == "soft")
        log({"stage": stage, "event": "calibrated", **calibration})
    set_seed(cfg.seed + ALL_STAGES.index(stage))
    info = run_stage(stage, model, data, tokenizer, cfg, frozen, log, show_progress, targets)
    stage_info[stage] = {k: info[k] for k in ("epochs", "examples", "wall_seconds")} | {"lr": cfg.stage_lr(stage)}
    if teacher is not None:
        stage_info[stage]["teacher"] = str(teacher)
    if cfg.target_flops_reduction and stage in ("soft", "hard"):
        reached = info["final"].get("val_hard_flops_reduction", info["final"].get("val_flops_reduction"))
        extra = {"calibration": calibration} if calibration else {}
        if stage == "hard" and cfg.calibrate:  # the trained weights moved the scores: calibrate once more
            final = final_calibration(model, data.ids, tokenizer.pad_token_id, cfg.target_flops_reduction,
                                      seed=cfg.seed + 1)
            log({"stage": stage, "event": "recalibrated", **final})
            extra["final_calibration"] = final
            if data.val_ids:
                extra["reached_on_validation_before_final_calibration"] = reached
                reached = round(binarised_reduction(model, data.val_ids, tokenizer.pad_token_id), 3)
        stage_info[stage].update(target_flops_reduction=cfg.target_flops_reduction, reached_on_validation=reached,
                                 **extra)
        log({"stage": stage, "event": f"target {cfg.target_flops_reduction:g}x FLOPs reduction: "
                                      f"{reached}x on validation (binarised)"})
    state.wait_for_everyone()
    if state.is_main_process:
        _save_stage(model, run_dir / stage, stage, frozen, data, cfg, stage_info, log.path)
        shutil.rmtree(run_dir / f".resume-{stage}", ignore_errors=True)
        log({"stage": stage, "event": "saved", "path": str(run_dir / stage), "wall_seconds": info["wall_seconds"]})
    state.wait_for_everyone()


def run_stage(
    stage: str,
    model: LTPForSequenceClassification,
    data: TrainData,
    tokenizer,
    cfg: TrainConfig,
    frozen: list[str],
    log: Callable[[dict], None],
    show_progress: bool = True,
    teacher: TeacherTargets | None = None,
) -> dict:
    """Train one stage; returns {"epochs", "examples", "wall_seconds", "final": last epoch metrics}.

    Resume state (weights, optimizer moments, position; safetensors + JSON) is written at epoch
    ends, every 10 minutes and on Ctrl-C / SIGTERM; a rerun continues from it."""
    model.set_mode(STAGE_MODE[stage])
    resume_dir = Path(cfg.out) / f".resume-{stage}"
    run = loop.prepare_stage(stage, model, data, tokenizer.pad_token_id, cfg, teacher)
    examples = len(data.for_stage(stage)[0])
    settings = resume.resume_settings(stage, cfg, examples, run.steps_per_epoch)
    start = (0, 0, 0.0)  # epoch, step, wall seconds
    if resume_dir.exists():
        start = _resume_stage(stage, resume_dir, run, settings, log)
    save_state = _state_saver(stage, resume_dir, run, settings, frozen, log)
    old_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        result = _run_epochs(stage, run, data, tokenizer.pad_token_id, cfg, start, save_state, log, show_progress)
    finally:
        signal.signal(signal.SIGTERM, old_handler)
    return {"epochs": cfg.stage_epochs(stage), "examples": examples, **result}


def _raise_interrupt(signum, frame):  # SIGTERM -> the same path as Ctrl-C
    raise KeyboardInterrupt


def _resume_stage(stage: str, resume_dir: Path, run: loop.StageRun, settings: dict, log) -> tuple[int, int, float]:
    """Load an interrupted stage's state (after checking its settings); returns (epoch, step, wall seconds)."""
    resume.check_resume_settings(resume_dir, settings)
    info = resume.load_resume(resume_dir, run.accelerator.unwrap_model(run.model), run.optimizer, run.scheduler)
    if run.controller is not None and info.get("controller"):
        run.controller.load_state_dict(info["controller"])
    log({"stage": stage, "event": "resumed", "epoch": info["epoch"], "step": info["step"]})
    return info["epoch"], info["step"], info["wall_seconds"]


def _state_saver(stage: str, resume_dir: Path, run: loop.StageRun, settings: dict, frozen: list[str], log):
    """save_state(epoch, step, seconds, event=None): write the resume state (main process only)."""

    def save_state(epoch: int, step: int, seconds: float, event: str | None = None) -> None:
        if not run.accelerator.is_main_process:
            return
        info = {"stage": stage, "epoch": epoch, "step": step, "wall_seconds": seconds, "settings": settings}
        if run.controller is not None:
            info["controller"] = run.controller.state_dict()
        resume.save_resume(resume_dir, run.accelerator.unwrap_model(run.model), run.optimizer, run.scheduler, info,
                           frozen)
        if event:
            log({"stage": stage, "event": event, "epoch": epoch, "step": step, "of": run.steps_per_epoch})

    return save_state


def _run_epochs(stage: str, run: loop.StageRun, data: TrainData, pad_id: int, cfg: TrainConfig,
                start: tuple[int, int, float], save_state, log, show_progress: bool) -> dict:
    """The epochs still to train, from `start` = (epoch, step, wall); returns {"final", "wall_seconds"}."""
    epochs = cfg.stage_epochs(stage)
    start_epoch, start_step, wall = start
    final = {}
    for epoch in range(start_epoch, epochs):
        run.sampler.epoch, run.sampler.skip = epoch, (start_step if epoch == start_epoch else 0)
        run.model.train()
        t0 = time.perf_counter()

        def checkpoint(k: int, event: str, epoch=epoch, t0=t0) -> None:
            save_state(epoch, k, wall + time.perf_counter() - t0, event)

        sums = loop.train_epoch(run, f"{stage} epoch {epoch + 1}/{epochs}", show_progress, checkpoint)
        wall += time.perf_counter() - t0
        final = loop.epoch_metrics(stage, epoch, sums, time.perf_counter() - t0, run.accelerator.unwrap_model(run.model),
                                   data, pad_id, cfg.batch_size)
        if run.controller is not None:
            final.update(target_flops_reduction=cfg.target_flops_reduction, controller_signal=cfg.controller_signal,
                         **{f"{cfg.controller_signal}_flops_reduction": round(1 / run.controller.ratio, 3)},
                         multiplier=round(run.controller.lam, 4))
        log(final)
        if epoch + 1 < epochs:  # epoch boundary
            save_state(epoch + 1, 0, wall)
    return {"final": final, "wall_seconds": round(wall, 1)}


def _stage_done(path: Path) -> bool:
    """A finished stage: a readable checkpoint config and its weights."""
    try:
        read_config(path)
    except (CheckpointError, FileNotFoundError):
        return False
    return (path / "model.safetensors").is_file()


def _effective_backbone(cfg: TrainConfig, run_dir: Path) -> str:
    """The backbone the run is built on: that of --init or of a finished stage in the run dir
    (so later stages use the same weights and tokenizer), else --backbone."""
    starts = [Path(cfg.init)] if cfg.init else [run_dir / s for s in ALL_STAGES]
    for path in starts:
        if cfg.init or _stage_done(path):
            return read_config(find_checkpoint(path))["backbone"]["spec"]
    return cfg.backbone


def _save_stage(model, target: Path, stage: str, frozen, data: TrainData, cfg: TrainConfig, stage_info, log_path):
    """Write the stage's checkpoint (with the run's config, command, stage records and log)."""
    model = model.cpu()
    model.set_mode(STAGE_MODE[stage])
    save_checkpoint(
        model, target, backbone=cfg.backbone, label_names=data.label_names, max_length=cfg.max_length,
        stage=stage, frozen=frozen, truncation=cfg.truncation, dataset=data.description,
        training={"config": asdict(cfg), "command": cfg.command, "stages": dict(stage_info)},
        dtype=cfg.save_dtype, extra_files={"train_log.jsonl": log_path.read_text()},
    )


def _stage_model(stage: str, previous: Path | None, cfg: TrainConfig, label_names: list[str]):
    """The model a stage starts from: the backbone (baseline) or the previous checkpoint;
    returns (model, names of the frozen parameters)."""
    ltp_cfg = LTPConfig(mode=STAGE_MODE[stage], n_ref=cfg.resolved_n_ref, final_threshold=cfg.final_threshold,
                        temperature=cfg.resolved_temperature[0], mask_lambda=cfg.mask_lambda,
                        topk_keep=list(cfg.topk_keep) if stage == "topk" else None, score=cfg.score,
                        key_fade=cfg.key_fade, regularizer=cfg.regularizer, length_half=cfg.length_half,
                        prune_first_layer=cfg.prune_first_layer, min_keep=cfg.min_keep,
                        soft_drop_below=cfg.soft_drop_below)
    if stage == "baseline" and previous is None:
        model = build_model(cfg.backbone, label_names, ltp_cfg, seed=cfg.seed)
    else:
        model = _model_from_previous(stage, previous, cfg, label_names, ltp_cfg)
    model.check_max_length(cfg.max_length)
    frozen = model.freeze_word_embeddings() if cfg.freeze_embeddings else []
    return model, frozen


def _model_from_previous(stage: str, previous: Path | None, cfg: TrainConfig, label_names: list[str],
                         ltp_cfg: LTPConfig) -> LTPForSequenceClassification:
    """The previous checkpoint's model, checked (labels, stage) and set up for `stage`."""
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
    else:  # hard: thresholds and N_ref come from the soft stage
        model.ltp_config.mode = "hard"
    return model
