"""The live page's threshold what-if: which layers it can change, the learned thresholds, and the
thresholds of a pruning strength."""

from __future__ import annotations


def scaled_thresholds(learned: list[float], strength: float, first_layer_prunes: bool = False) -> list[float]:
    """The what-if thresholds of a pruning strength: every learned threshold times ``strength``
    (1: the learned ones; 0: no pruning; a threshold below 0 stays below 0, so its layer still
    never prunes). Entry 0 (layer 1) stays as learned unless the model prunes from layer 1."""
    first = 0 if first_layer_prunes else 1
    return learned[:first] + [round(float(t) * strength, 6) for t in learned[first:]]


def first_whatif_layer(card: dict) -> int:
    """The first layer (1-based) whose threshold a what-if can change: 1 for a model that prunes
    from layer 1 (its model card has a threshold for layer 1), else 2."""
    return 1 if card.get("thresholds") and card["thresholds"][0] is not None else 2


def learned_thresholds(card: dict) -> list[float] | None:
    """A model card's theta^l per layer (layer 1's unused entry as 0), None when it stores none."""
    thr = card.get("thresholds") or []
    return [0.0 if t is None else float(t) for t in thr] if len(thr) == card["num_layers"] else None
