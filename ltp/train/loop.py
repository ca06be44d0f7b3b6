"""One stage's training loop on Accelerate: the optimizer and schedule, one epoch of steps,
and the per-epoch evaluation on the held-out rows; each returns plain metric dicts."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ltp.checkpoint import ALL_STAGES
from ltp.inference import pad_batch, predict
from ltp.text import Encoded
from ltp.model import LTPForSequenceClassification, special_positions
from ltp.train.batches import LengthGroupedBatches, TrainData
from ltp.train.config import TrainConfig
from ltp.train.controller import FlopsController
from ltp.train.distill import TeacherTargets, distillation_loss, rank_distillation_loss

SAVE_EVERY_S = 600.0  # mid-epoch resume state every 10 minutes


@dataclass
class StageRun:
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
    teacher: TeacherTargets | None = None  # the teacher's logits and token scores per training row
    cfg: TrainConfig | None = None  # distillation weights, the controller's signal, the regulariser weight


def prepare_stage(stage: str, model: LTPForSequenceClassification, data: TrainData, pad_id: int,
                  cfg: TrainConfig, teacher: TeacherTargets | None = None) -> StageRun:
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
        rows = torch.as_tensor(batch_idx, dtype=torch.long)  # which training rows: the teacher's targets
        return batch_ids, mask, torch.as_tensor(labels[batch_idx], dtype=torch.long), rows

    loader = torch.utils.data.DataLoader(range(len(ids)), batch_sampler=sampler, collate_fn=collate)
    model, optimizer, scheduler, loader = accelerator.prepare(model, optimizer, scheduler, loader)
    soft = stage == "soft"
    controller = (FlopsController(cfg.target_flops_reduction, cfg.target_lr, cfg.target_rho)
                  if soft and cfg.target_flops_reduction else None)
    return StageRun(accelerator, model, optimizer, scheduler, loader, sampler, steps_per_epoch, total, controller,
                    cfg.resolved_temperature if soft else None, cfg.clamp_thresholds, teacher, cfg)


def train_epoch(run: StageRun, desc: str, show_progress: bool, checkpoint: Callable[[int, str], None]) -> dict:
    """One pass over the (remaining) batches; returns summed losses, kept fraction and steps.

    `checkpoint(step, event)` saves the resume state: every `SAVE_EVERY_S` seconds (so a kill
    loses little) and on Ctrl-C / SIGTERM (at the exact step, then the interrupt goes on)."""
    from tqdm.auto import tqdm

    sums = {"loss": 0.0, "task_loss": 0.0, "distill_loss": 0.0, "rank_loss": 0.0, "mask_loss": 0.0, "kept": 0.0,
            "steps": 0}
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


def _train_steps(run: StageRun, bar, sums: dict, position: dict, checkpoint) -> None:
    """The optimisation steps of one epoch; saves the resume state every SAVE_EVERY_S seconds."""
    acc = run.accelerator
    model = acc.unwrap_model(run.model)
    last_save = time.perf_counter()
    for ids, mask, labels, rows in bar:  # the prepared loader already places batches on the device
        out, losses = _step(run, model, ids, mask, labels, rows)
        position["batches"] += acc.num_processes  # each process took one batch of the global order
        kept = kept_fraction(out, mask)
        for name, value in losses.items():
            sums[name] += float(value)
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


def _step(run: StageRun, model: LTPForSequenceClassification, ids, mask, labels, rows):
    """One optimiser step (temperature annealed, losses, controller penalty, clamp); returns
    (output, the step's losses as floats)."""
    acc = run.accelerator
    step = run.scheduler.scheduler.last_epoch if hasattr(run.scheduler, "scheduler") else run.scheduler.last_epoch
    progress = min(1.0, step / max(run.total_steps - 1, 1))
    if run.temperatures:  # geometric annealing of T over the soft stage
        t0, t1 = run.temperatures
        model.ltp_config.temperature = t0 * (t1 / t0) ** progress
    out = run.model(ids, mask)
    losses = task_losses(run, model, out, mask, labels, rows, progress)
    loss = losses["task"]
    if run.controller is not None:  # the target replaces the fixed lambda
        signal = out.binarised_flops_ratio if run.cfg.controller_signal == "binarised" else out.expected_flops_ratio
        loss = loss + run.controller.penalty(signal, out.mask_loss, float(mask.sum()))
    elif out.mask_loss is not None:
        loss = loss + model.ltp_config.mask_lambda * out.mask_loss
    acc.backward(loss)
    acc.clip_grad_norm_(run.model.parameters(), 1.0)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad()
    if run.clamp and model.mode == "soft":
        model.clamp_thresholds()
    return out, {"loss": loss.item(), "task_loss": losses["cross_entropy"].item(),
                 "distill_loss": float(losses.get("distill", 0.0)), "rank_loss": float(losses.get("rank", 0.0))}


def task_losses(run: StageRun, model: LTPForSequenceClassification, out, mask, labels, rows, progress: float) -> dict:
    """The loss the weights learn from, before the pruning penalty: {"task", "cross_entropy",
    and with a teacher "distill" (and "rank")}. With a teacher: alpha * KL to its logits +
    (1 - alpha) * cross-entropy (+ the decaying ranking term in the soft stage)."""
    ce = F.cross_entropy(out.logits, labels)
    result = {"task": ce, "cross_entropy": ce.detach()}
    if run.teacher is None:
        return result
    cfg = run.cfg
    t_logits, t_scores = run.teacher.batch(rows, mask.shape[1])
    kd = distillation_loss(out.logits, t_logits.to(out.logits.device), cfg.distill_temperature)
    task = cfg.distill_alpha * kd + (1 - cfg.distill_alpha) * ce
    result.update(distill=kd.detach())
    weight = cfg.rank_distill * (1 - progress)
    if weight > 0 and model.mode == "soft":
        real = mask.bool()
        layers = [l for l in range(model.num_layers) if l > 0 or model.ltp_config.prune_first_layer]
        content = real & ~special_positions(real)
        rank = rank_distillation_loss(out.scores[layers], t_scores.to(out.scores.device), content)
        task = task + weight * rank
        result.update(rank=rank.detach())
    result["task"] = task
    return result


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


def epoch_metrics(stage: str, epoch: int, sums: dict, seconds: float, model: LTPForSequenceClassification,
                  data: TrainData, pad_id: int, batch_size: int) -> dict:
    """The log record of one finished epoch (epoch counted from 1): mean losses, thresholds, validation."""
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
