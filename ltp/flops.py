"""FLOPs accounting, in one place: a layer's cost, the honest unpruned baseline, the cost of a
profile of token counts, top-k schedules at a FLOPs budget, and a configuration's ceiling.

Counts are multiply-accumulates (MACs) per example; FLOPs = 2 x MACs. Per encoder layer
(d: hidden width, d_ff: feed-forward width, n_attn tokens entering it, n_ffn surviving its
pruning): attention 4 d^2 n_attn + 2 d n_attn^2, feed-forward 2 d d_ff n_ffn. A [CLS]
classifier reads nothing but [CLS] after the last layer, so the last layer's feed-forward
block runs for [CLS] alone, pruned or not ("honest" accounting; ../shared/LTP-NOTES.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

OFFICIAL_FLOOR = 0.01  # the official code's smallest keep rate (`_set_token_keep_rate`)


def layer_macs(n_attn: torch.Tensor, n_ffn: torch.Tensor, d: int, d_ff: int) -> torch.Tensor:
    """Multiply-accumulates of one layer: 4 d^2 n_a + 2 d n_a^2 (attention) + 2 d d_ff n_f.

    Counts may be fractional (expected counts of the soft model); the result is differentiable."""
    n_attn, n_ffn = torch.as_tensor(n_attn).double(), torch.as_tensor(n_ffn).double()
    return 4 * d * d * n_attn + 2 * d * n_attn**2 + 2 * d * d_ff * n_ffn


def unpruned_macs(n: torch.Tensor, num_layers: int, d: int, d_ff: int) -> torch.Tensor:
    """Honest unpruned baseline: every real token in every layer, but the last layer's FFN
    for [CLS] alone (a [CLS] classifier reads nothing else)."""
    n = torch.as_tensor(n)
    return (num_layers - 1) * layer_macs(n, n, d, d_ff) + layer_macs(n, torch.ones_like(n), d, d_ff)


def profile_macs(n: torch.Tensor, alive: Sequence[torch.Tensor], d: int, d_ff: int) -> torch.Tensor:
    """Honest MACs of inputs of n real tokens when alive[l] tokens survive layer l's pruning
    (tokens entering layer l: n for the first layer, alive[l-1] after)."""
    n = torch.as_tensor(n).double()
    entering, total = n, torch.zeros_like(n)
    for l, after in enumerate(alive):
        after = torch.as_tensor(after).double()
        last = l == len(alive) - 1
        total = total + layer_macs(entering, torch.ones_like(n) if last else after, d, d_ff)
        entering = after
    return total


def profile_flops(n: int, alive: Sequence[int], d: int, d_ff: int) -> float:
    """Honest FLOPs (2 x MACs) of one input of n real tokens with alive[l] tokens after layer l."""
    return 2 * float(profile_macs(torch.tensor(float(n)), [torch.tensor(float(c)) for c in alive], d, d_ff))


def honest_ceiling(lengths: Sequence[int], num_layers: int, d: int, d_ff: int, prune_first_layer: bool = False,
                   min_keep: int = 0) -> float:
    """The largest honest FLOPs reduction a configuration can reach on inputs of these lengths
    (ratio of totals): every layer that may prune keeps [CLS], and its `min_keep` best content
    tokens (as many as the input has), and nothing else. A first layer that never prunes runs
    its feed-forward block on every token, and the second layer's attention too."""
    n = torch.as_tensor(np.asarray(lengths), dtype=torch.float64)
    floor = 1 + torch.clamp(n - 2, min=0).clamp(max=min_keep)  # [CLS] + the content tokens kept
    alive = [floor if (l > 0 or prune_first_layer) else n for l in range(num_layers)]
    return float(unpruned_macs(n, num_layers, d, d_ff).sum() / profile_macs(n, alive, d, d_ff).sum())


# --------------------------------------------------------------------------- top-k schedules


def topk_counts(n: int, keep: Sequence[float], prune_first_layer: bool = False) -> list[int]:
    """Tokens alive after each layer when top-k with fractions `keep` runs on n real tokens:
    ceil(keep[l] * n), at least 1, never more than entered the layer; the first layer keeps
    every token unless it prunes."""
    counts, entering = [], n
    for l, k in enumerate(keep):
        if l > 0 or prune_first_layer:
            entering = min(entering, max(1, math.ceil(k * n)))
        counts.append(entering)
    return counts


def topk_flops_reduction(lengths: Sequence[int], keep: Sequence[float], d: int, d_ff: int,
                         prune_first_layer: bool = False) -> float:
    """Honest FLOPs reduction of top-k with these fractions on inputs of these lengths (exact:
    top-k keeps ceil(keep[l] * n) tokens, never more than entered the layer)."""
    n = torch.as_tensor(np.asarray(lengths), dtype=torch.float64)
    entering, alive = n, []
    for l, k in enumerate(keep):
        if l > 0 or prune_first_layer:
            entering = torch.minimum(entering, torch.ceil(k * n).clamp(min=1))
        alive.append(entering)
    return float(unpruned_macs(n, len(keep), d, d_ff).sum() / profile_macs(n, alive, d, d_ff).sum())


def linear_schedule(num_layers: int, slope: float, floor: float = 0.02) -> tuple[float, ...]:
    """A kept fraction falling linearly with depth: layer 1 keeps all, then 1 - slope * l, down
    to `floor` (the dashboard's same-FLOPs top-k of one text, and the first and second
    releases' "linear" baseline)."""
    return tuple(1.0 if l == 0 else max(floor, 1.0 - slope * l) for l in range(num_layers))


def official_linear_schedule(num_layers: int, keep_rate: float) -> tuple[float, ...]:
    """The top-k schedule of the official LTP code (`CascadeTokenPruner._set_token_keep_rate`
    in kssteven418/LTP, after SpAtten): the first max(3, ceil(0.15 L)) layers keep every token;
    over the remaining layers the kept fraction falls linearly to `keep_rate` at the last layer,
    never below 0.01."""
    before = max(3, math.ceil(0.15 * num_layers))
    pruning = num_layers - before
    out = []
    for i in range(num_layers):
        if i < before or pruning <= 0:
            out.append(1.0)
        else:
            out.append(max(OFFICIAL_FLOOR, (keep_rate - 1) / pruning * (i - before + 1) + 1))
    return tuple(out)


def _bisect(reduction_of, target: float, lo: float, hi: float, increasing: bool, steps: int = 40) -> float:
    """The parameter in [lo, hi] where reduction_of(x) crosses target (monotone in x)."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        below = reduction_of(mid) < target
        lo, hi = (mid, hi) if below == increasing else (lo, mid)
    return (lo + hi) / 2


def matched_linear_schedule(lengths: Sequence[int], reduction: float, num_layers: int, d: int, d_ff: int,
                            steps: int = 40) -> tuple[float, ...]:
    """The linear schedule whose honest FLOPs reduction on `lengths` is `reduction` (bisection
    on its slope; the reduction grows with it)."""
    slope = _bisect(lambda s: topk_flops_reduction(lengths, linear_schedule(num_layers, s), d, d_ff),
                    reduction, 0.0, 1.0, increasing=True, steps=steps)
    return linear_schedule(num_layers, slope)


def matched_official_schedule(lengths: Sequence[int], reduction: float, num_layers: int, d: int, d_ff: int,
                              steps: int = 40) -> tuple[tuple[float, ...], float]:
    """The official schedule whose honest FLOPs reduction on `lengths` is `reduction` (bisection
    on its final keep rate), and the reduction it reaches: a schedule that keeps its first three
    layers whole has a ceiling of its own, and above it the official floor (0.01) is returned."""
    def red(rate: float) -> float:
        return topk_flops_reduction(lengths, official_linear_schedule(num_layers, rate), d, d_ff)

    if red(OFFICIAL_FLOOR) < reduction:
        keep = official_linear_schedule(num_layers, OFFICIAL_FLOOR)
    else:
        keep = official_linear_schedule(num_layers, _bisect(red, reduction, OFFICIAL_FLOOR, 1.0, False, steps))
    return keep, topk_flops_reduction(lengths, keep, d, d_ff)


__all__ = ["layer_macs", "unpruned_macs", "profile_macs", "profile_flops", "honest_ceiling", "topk_counts", "topk_flops_reduction",
           "linear_schedule", "official_linear_schedule", "matched_linear_schedule", "matched_official_schedule"]
