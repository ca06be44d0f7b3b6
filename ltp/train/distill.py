"""Learning from the teacher: the unpruned fine-tuned model (frozen, pruning off) whose logits
the pruning stages distil (KL at a temperature, on full texts and on short spans, whose
teacher labels replace the review labels they inherit) and, optionally, whose final-layer
token ranking every pruning layer's scores learn (ToP, Li et al., KDD 2023).

The teacher's outputs are computed once per run over the stage's rows and cached beside the
run (`.teacher-<fingerprint>.pt`), so distillation costs one inference pass.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

RANK_TOP = 20  # tokens of the teacher's ranking distilled (ToP distils the top of the ranking)


@dataclass
class TeacherTargets:
    """The teacher's outputs for each training row (row order of TrainData.for_stage)."""

    logits: torch.Tensor  # (N, C) float32
    scores: list[torch.Tensor]  # N x (n_i,) float16: last-layer importance of each token of the row

    def batch(self, rows: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, C) and scores padded to `length` (B, length) of these rows."""
        idx = rows.cpu().tolist()
        scores = torch.zeros(len(idx), length)
        for i, r in enumerate(idx):
            s = self.scores[r][:length]
            scores[i, : len(s)] = s.float()
        return self.logits[idx], scores


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), mean over the batch (Hinton et al.;
    the T^2 keeps the gradient's scale independent of T)."""
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, -1), F.log_softmax(teacher_logits / t, -1),
                    log_target=True, reduction="batchmean") * t * t


def rank_distillation_loss(layer_scores: torch.Tensor, teacher_scores: torch.Tensor, content: torch.Tensor,
                           top: int = RANK_TOP) -> torch.Tensor:
    """ListNet on the teacher's best tokens: KL from the teacher's score distribution over its
    `top` best content tokens to each pruning layer's score distribution over the content
    tokens, mean over layers and examples.

    Args:
        layer_scores: (L', B, T) the student's scores at its pruning layers (>= 0).
        teacher_scores: (B, T) the teacher's last-layer scores.
        content: (B, T) bool, the real tokens but [CLS] and [SEP].
    """
    t = torch.where(content, teacher_scores, torch.zeros_like(teacher_scores))
    k = min(top, t.shape[1])
    kth = t.topk(k, dim=1).values[:, -1:]  # (B, 1)
    best = content & (t >= kth) & (t > 0)
    p = torch.where(best, t, torch.zeros_like(t))
    p = p / p.sum(1, keepdim=True).clamp_min(1e-12)  # (B, T)
    s = torch.where(content[None], layer_scores, torch.zeros_like(layer_scores))
    q = s / s.sum(2, keepdim=True).clamp_min(1e-12)  # (L', B, T)
    kl = (p * (torch.log(p.clamp_min(1e-12)) - torch.log(q + 1e-8)))[:, best.any(1)].sum(-1)  # (L', B')
    return kl.mean() if kl.numel() else layer_scores.sum() * 0.0


def _fingerprint(teacher: Path, ids: list[list[int]]) -> str:
    """Names the cache: the teacher's weights (path, size, time) and the exact rows."""
    weights = teacher / "model.safetensors"
    stat = weights.stat() if weights.exists() else None
    h = hashlib.sha256(f"{teacher.resolve()}|{stat.st_size if stat else 0}|{stat.st_mtime_ns if stat else 0}".encode())
    for row in ids:
        h.update(np.asarray(row, dtype=np.int32).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


@torch.inference_mode()
def compute_teacher_targets(teacher: Path, ids: list[list[int]], pad_id: int, batch_size: int = 64) -> TeacherTargets:
    """Run the teacher (pruning off) over every row; length-sorted batches."""
    from ltp.checkpoint import load_checkpoint
    from ltp.inference import length_sorted_batches, pad_batch

    model = load_checkpoint(teacher).model.eval()
    logits = torch.zeros(len(ids), model.hf.config.num_labels)
    scores: list[torch.Tensor] = [torch.zeros(0)] * len(ids)
    for idx in length_sorted_batches([len(x) for x in ids], batch_size):
        batch_ids, mask = pad_batch([ids[i] for i in idx], pad_id)
        out = model(batch_ids, mask, mode="none")
        logits[idx] = out.logits.float()
        for j, i in enumerate(idx):
            scores[i] = out.scores[-1, j, : len(ids[i])].to(torch.float16).clone()
    return TeacherTargets(logits, scores)


def teacher_targets(teacher: Path, ids: list[list[int]], pad_id: int, cache_dir: Path, is_main: bool = True,
                    wait=lambda: None) -> TeacherTargets:
    """The teacher's outputs for these rows, from the run's cache or computed (by the main
    process, the others wait and read) and cached."""
    path = Path(cache_dir) / f".teacher-{_fingerprint(Path(teacher), ids)}.pt"
    if is_main and not path.exists():
        targets = compute_teacher_targets(Path(teacher), ids, pad_id)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save({"logits": targets.logits, "scores": targets.scores}, tmp)
        os.replace(tmp, path)
    wait()
    d = torch.load(path, weights_only=True)
    return TeacherTargets(d["logits"], d["scores"])


__all__ = ["TeacherTargets", "distillation_loss", "rank_distillation_loss", "teacher_targets",
           "compute_teacher_targets"]
