"""Learned Token Pruning (LTP) around a Hugging Face encoder (BERT, RoBERTa, MPNet, DistilBERT ...).

Read top to bottom: the config, the output record, the importance score and FLOPs helpers,
and the model, whose `forward` is the method: per layer `_attend` (attention and scores),
`_remove` (hard / top-k) or `_soft_prune` (soft), the FFN, `_count_macs`; then `_finish`.
How each architecture's layers are called lives in ltp/backbones.py (one adapter per
`model_type`). Layers are counted from 1 here as everywhere a person reads; code indexes
them from 0 (index l is layer l+1). The method follows ../shared/LTP-NOTES.md:

* importance  r^l[k] = 1/H * sum_h sum_{q alive} A_h^l[q, k] (attention key k receives);
  "paper" score s = r / N_ref; "sink" score (default) rescales the content tokens' scores so
  that they carry the whole mass: s = r * n_content / (sum_content r * N_ref). [CLS] and [SEP]
  absorb more attention the shorter the text, so only the sink score has the same scale on a
  16-token sentence as on a 256-token review (mean content score 1/N_ref at any length);
* threshold   theta^l = f * l / L + t^l for index l = 0..L-1 (t^l learned, theta >= 0; the
  first layer, index 0, prunes only with prune_first_layer); every pruning layer keeps its
  min_keep best content tokens whatever the threshold (no forced collapse to [CLS] alone);
* soft mode   layer output multiplied by m^l = sigmoid((s^l - theta^l) / T); each query of the
  score is weighted by its survival so far (product of earlier masks), and softly pruned
  tokens also fade as keys (log survival added to the key logits), so hard pruning is the
  limit of soft pruning; the regulariser is the expected FLOPs of the soft model, and the
  batch's binarised FLOPs (what hard mode would run) are reported beside it; a token whose
  survival falls below soft_drop_below is removed, as in hard mode (its contribution is nil);
* hard mode   tokens with s^l < theta^l are removed (gathered out) before layer l's
  feed-forward block and never come back; the first (classification) token is always kept.
* topk mode   the comparison baseline: the same score and removal, but layer l keeps a fixed
  fraction topk_keep[l] of the input's real tokens (the highest-scoring ones).

In every mode the last layer's feed-forward block runs for [CLS] alone: the classifier reads
nothing else, so neither the pruned nor the unpruned FLOPs count (or spend) that work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from ltp.backbones import EncoderAdapter, adapter_for, load_classifier
from ltp.flops import layer_macs, unpruned_macs

MODES = ("none", "soft", "hard", "topk")
SCORES = ("sink", "paper")
REGULARIZERS = ("flops", "kept")


@dataclass
class LTPConfig:
    """Pruning hyper-parameters; saved inside every checkpoint."""

    mode: str = "none"  # "none" (plain encoder), "soft" (training stage 1), "hard" (binarised) or "topk"
    n_ref: int = 128  # constant score divisor N_ref: the training max length
    final_threshold: float | None = None  # f in theta^l = f*l/L + t^l; None -> 0.01 * 128 / n_ref
    temperature: float = 1e-3  # T of the soft mask sigmoid((s - theta) / T), in score units
    mask_lambda: float = 0.1  # weight of the regulariser in soft mode
    topk_keep: list[float] | None = None  # topk mode: fraction of the input kept after each layer
    score: str = "sink"  # "sink" (content-normalised, length-robust) or "paper" (r / N_ref)
    key_fade: bool = True  # soft mode: softly pruned tokens fade as keys too (log survival on key logits)
    regularizer: str = "flops"  # soft mode: "flops" (expected FLOPs ratio) or "kept" (first release: mean mask per layer)
    # theta of an input of n real tokens: theta * rho(n), rho(n) = (n / (n + h)) / (n_ref / (n_ref + h)), h this
    # many tokens; None: one threshold for every length. Short inputs (fewer tokens, each one worth
    # more, little FLOPs to save) are pruned more gently than the texts the thresholds were learned on
    length_half: float | None = 16.0
    # layer 1 prunes too (after its attention; the first and second releases never let it): without
    # it the honest ceiling of a 6-layer model is ~3.7x, since layer 1 and layer 2's attention run
    # on every token whatever the thresholds
    prune_first_layer: bool = False
    # every pruning layer keeps at least its min_keep best content tokens (not [CLS]/[SEP]) among
    # those alive, whatever the thresholds: no layer can be forced down to [CLS] alone (0: off)
    min_keep: int = 0
    # soft mode: a token whose survival (product of its masks) falls below this is removed before
    # the feed-forward block, as in hard mode: its contribution is nil and its work is saved (0: off)
    soft_drop_below: float = 1e-4

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"Unknown pruning mode {self.mode!r}: use one of {', '.join(MODES)}.")
        if self.score not in SCORES:
            raise ValueError(f"Unknown importance score {self.score!r}: use one of {', '.join(SCORES)}.")
        if self.regularizer not in REGULARIZERS:
            raise ValueError(f"Unknown regulariser {self.regularizer!r}: use one of {', '.join(REGULARIZERS)}.")
        if self.n_ref <= 0:
            raise ValueError(f"n_ref must be positive (the training max length), got {self.n_ref}.")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive (about 1e-3), got {self.temperature}.")
        if self.mask_lambda < 0:
            raise ValueError(f"mask_lambda must be >= 0, got {self.mask_lambda}.")
        if self.final_threshold is None:
            self.final_threshold = 0.01 * 128 / self.n_ref
        if self.length_half is not None and self.length_half <= 0:
            raise ValueError(f"length_half must be a positive number of tokens (or None), got {self.length_half}.")
        if self.final_threshold < 0:
            raise ValueError(f"final_threshold must be >= 0, got {self.final_threshold}.")
        if self.min_keep < 0:
            raise ValueError(f"min_keep must be >= 0 content tokens, got {self.min_keep}.")
        if not 0 <= self.soft_drop_below < 0.01:
            raise ValueError(f"soft_drop_below must be in [0, 0.01) (a survival, about 1e-4), got {self.soft_drop_below}.")
        if self.mode == "topk" and not self.topk_keep:
            raise ValueError("topk mode needs topk_keep: the fraction of tokens kept after each layer.")
        if self.topk_keep is not None and not all(0 < k <= 1 for k in self.topk_keep):
            raise ValueError(f"topk_keep fractions must be in (0, 1], got {self.topk_keep}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LTPConfig":
        """From a checkpoint's "ltp" record; one written before the score was recorded is the
        first release's method (paper score, no key fading, kept-fraction regulariser)."""
        names = {f.name for f in fields(cls)}
        legacy = ({"score": "paper", "key_fade": False, "regularizer": "kept", "length_half": None}
                  if "score" not in d else {})
        return cls(**{**legacy, **{k: v for k, v in d.items() if k in names}})


@dataclass
class LTPOutput:
    """What one forward pass returns. B: batch, T: input length, L: layers, C: classes.

    Positions are those of the input (before any removal), so records of different layers
    line up. A token "alive at layer l" survived layer l's pruning and enters layer l+1.
    """

    logits: torch.Tensor  # (B, C)
    loss: torch.Tensor | None = None  # task loss (+ mask_lambda * mask_loss in soft mode)
    task_loss: torch.Tensor | None = None  # cross-entropy alone
    # soft mode: regulariser "flops": expected FLOPs of the soft model / unpruned FLOPs (ratio of
    # the batch's totals, padding excluded); "kept": sum over layers of the mean soft mask
    mask_loss: torch.Tensor | None = None
    expected_flops_ratio: torch.Tensor | None = None  # soft mode: () the "flops" regulariser's value, always
    # soft mode: () FLOPs ratio of the same batch binarised (a token survives layer l while s >= theta),
    # what the hard stage will run; no gradient
    binarised_flops_ratio: torch.Tensor | None = None
    alive: torch.Tensor | None = None  # (L, B, T) bool: alive after layer l's pruning
    scores: torch.Tensor | None = None  # (L, B, T) importance at layer l (0 where not alive)
    soft_masks: torch.Tensor | None = None  # (L, B, T) soft masks (soft mode only)
    thresholds: torch.Tensor | None = None  # (L,) theta^l used
    length_factor: torch.Tensor | None = None  # (B,) rho(n): example b meets the thresholds theta^l * rho[b]
    # honest FLOPs: the last layer's FFN runs for [CLS] alone, pruned or not
    flops: torch.Tensor | None = None  # (B,) FLOPs of the encoder layers as run
    flops_unpruned: torch.Tensor | None = None  # (B,) every real token in every layer but the last FFN
    # the first release's accounting (every survivor through the last FFN, pruned and unpruned)
    flops_all_tokens: torch.Tensor | None = None  # (B,)
    flops_unpruned_all_tokens: torch.Tensor | None = None  # (B,)
    last_hidden_state: torch.Tensor | None = None  # (B, 1, d) final state of [CLS]
    # the states the final layer reads (the output of the last-but-one layer, for the tokens
    # alive after it): the last layer's own pruning only decides which FFN outputs would exist,
    # and nothing reads them, so these are the tokens that matter at the end
    final_input_state: torch.Tensor | None = None  # (B, t', d)
    final_input_positions: torch.Tensor | None = None  # (B, t')
    final_input_alive: torch.Tensor | None = None  # (B, t') bool

    @property
    def tokens_alive(self) -> torch.Tensor:
        """(L, B) number of tokens alive after each layer."""
        return self.alive.sum(-1)


# --------------------------------------------------------------------------- maths


def importance_scores(
    probs: torch.Tensor, alive: torch.Tensor, n_ref: int, query_weight: torch.Tensor | None = None,
    special: torch.Tensor | None = None, key_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Attention each key receives, on the paper's or the sink-aware scale.

    r[b, k] = 1/H * sum_h sum_{q alive} A[b, h, q, k].
    paper (special is None): s = r / n_ref.
    sink-aware: s = r * n_content / (sum_{content k'} r[k'] * n_ref) on content keys, the same
    formula on special keys; the content tokens' mean is 1/n_ref however much attention the
    special tokens absorb.

    Args:
        probs: (B, H, t, t) post-softmax attention, queries on dim 2, keys on dim 3.
        alive: (B, t) bool, the real, not yet pruned positions.
        query_weight: (B, t) soft aliveness of each query (soft mode: the product of the
            token's earlier soft masks), replacing the 0/1 alive indicator of the sum.
        special: (B, t) bool, [CLS]/[SEP] positions; None selects the paper's score.
        key_weight: (B, t) soft aliveness of each key (soft mode), for the content count.
    Returns: (B, t) scores; 0 at positions that are not alive.
    """
    heads = probs.shape[1]
    w = alive.to(probs.dtype) if query_weight is None else query_weight.to(probs.dtype)
    received = (probs * w[:, None, :, None]).sum(dim=(1, 2)) / heads  # (B, t)
    live = alive.to(probs.dtype)
    if special is None:
        return received / n_ref * live
    content = (alive & ~special).to(probs.dtype)  # (B, t)
    count = (content if key_weight is None else content * key_weight.to(probs.dtype)).sum(1, keepdim=True)
    mass = (received * content).sum(1, keepdim=True).clamp_min(1e-12)  # attention the content receives
    return received * count / (mass * n_ref) * live


def special_positions(alive: torch.Tensor) -> torch.Tensor:
    """(B, t) bool: [CLS] (position 0) and the last real token ([SEP] / </s>) of each row."""
    special = torch.zeros_like(alive)
    special[:, 0] = True
    last = (alive.sum(1) - 1).clamp_min(0)
    special[torch.arange(alive.shape[0], device=alive.device), last] = True
    return special


def _additive_mask(alive: torch.Tensor, dtype: torch.dtype, log_survival: torch.Tensor | None = None) -> torch.Tensor:
    """(B, t) bool -> (B, 1, 1, t) additive key mask (0 alive, very negative elsewhere).

    With `log_survival` (soft mode, key fading) a live key also gets log(survival): a softly
    pruned token receives attention in proportion to how much of it survives."""
    mask = (~alive)[:, None, None, :].to(dtype) * torch.finfo(dtype).min
    if log_survival is not None:
        fade = torch.where(alive, log_survival.clamp_min(-1e4), torch.zeros_like(log_survival))
        mask = mask + fade[:, None, None, :].to(dtype)
    return mask


def _compact(keep: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Column order that puts kept positions first (original order kept), and the new length."""
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # (B, t)
    return order, int(keep.sum(1).max().item())


def _gather_tokens(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """x (B, t, ...) reordered along dim 1 by order (B, t')."""
    index = order.reshape(*order.shape, *([1] * (x.dim() - 2))).expand(*order.shape, *x.shape[2:])
    return x.gather(1, index)


# --------------------------------------------------------------------------- model


@dataclass
class _RunState:
    """What flows between the layers of one forward pass (B: batch, t: current columns)."""

    hidden: torch.Tensor  # (B, t, d)
    bias: torch.Tensor | None  # (B, H, t, t) relative position bias (MPNet) or None
    alive: torch.Tensor  # (B, t) bool: real and not pruned
    special: torch.Tensor  # (B, t) bool: [CLS] / [SEP]
    positions: torch.Tensor  # (B, t) input position of each column
    real_len: torch.Tensor  # (B,) real tokens of the input
    rec_alive: torch.Tensor  # (L, B, T)
    rec_scores: torch.Tensor  # (L, B, T)
    rec_soft: torch.Tensor | None  # (L, B, T)
    macs: torch.Tensor  # (B,) honest MACs as run
    macs_all: torch.Tensor  # (B,) MACs with every survivor through the last FFN
    length_factor: torch.Tensor  # (B, 1) rho(n) scaling each example's thresholds
    survival: torch.Tensor | None  # (B, t) soft mode: product of the soft masks so far
    hard_alive: torch.Tensor | None  # (B, t) soft mode: alive if the masks so far were binarised
    force: torch.Tensor | None  # (B, t) bool: positions that survive every layer whatever their score
    topk_keep: list[float] | None  # topk mode: the kept fraction after each layer
    log_survival: torch.Tensor | None  # (B, t) soft mode: its log, summed exactly (logsigmoid)
    final_input: tuple
    exp_macs: list = field(default_factory=list)  # soft mode: (B,) expected MACs per layer
    kept_terms: list = field(default_factory=list)  # soft mode: (B,) mean mask per pruning layer
    bin_macs: list = field(default_factory=list)  # soft mode: (B,) MACs per layer, binarised



class LTPForSequenceClassification(nn.Module):
    """A Hugging Face sequence classifier with per-layer learned token-pruning thresholds."""

    def __init__(self, hf_model: nn.Module, ltp_config: LTPConfig | None = None):
        super().__init__()
        self.hf = hf_model
        self.ltp_config = ltp_config or LTPConfig()
        self.adapter = adapter_for(hf_model)  # raises ValueError for an unsupported model_type
        cfg = hf_model.config
        self.num_layers = cfg.num_hidden_layers
        self.hidden_size = cfg.hidden_size
        self.intermediate_size = self.adapter.intermediate_size
        # t^l, the learned part of each layer's threshold (index 0, the first layer, never prunes)
        self.threshold_offsets = nn.Parameter(torch.zeros(self.num_layers))

    # ----- thresholds and mode

    @property
    def mode(self) -> str:
        return self.ltp_config.mode

    def set_mode(self, mode: str) -> None:
        """Switch pruning mode; "hard" freezes the thresholds (stage 2 of LTP)."""
        if mode not in MODES:
            raise ValueError(f"Unknown pruning mode {mode!r}: use one of {', '.join(MODES)}.")
        self.ltp_config.mode = mode
        self.threshold_offsets.requires_grad_(mode == "soft")

    def thresholds(self) -> torch.Tensor:
        """(L,) theta^l = f * l / L + t^l; entry 0 is used only with prune_first_layer."""
        layer = torch.arange(self.num_layers, device=self.threshold_offsets.device, dtype=torch.float32)
        base = self.ltp_config.final_threshold * layer / self.num_layers
        return base + self.threshold_offsets

    def length_factor(self, n: torch.Tensor) -> torch.Tensor:
        """(B,) rho(n): each example's thresholds are theta^l * rho(n) (1 at n_ref; all ones when
        LTPConfig.length_half is None)."""
        h = self.ltp_config.length_half
        if h is None:
            return torch.ones(n.shape, dtype=torch.float32, device=n.device)
        n = n.to(torch.float32)
        ref = self.ltp_config.n_ref
        return (n / (n + h)) / (ref / (ref + h))

    def clamp_thresholds(self) -> None:
        """Keep every theta^l >= 0 (a negative threshold never prunes; its layer would be lost
        to the regulariser's gradient). Called after each optimiser step."""
        with torch.no_grad():
            base = self.thresholds() - self.threshold_offsets
            self.threshold_offsets.copy_(torch.maximum(self.threshold_offsets, -base))

    # ----- forward

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        mode: str | None = None,
        thresholds: torch.Tensor | None = None,
        topk_keep: list[float] | None = None,
        force_keep: torch.Tensor | None = None,
    ) -> LTPOutput:
        """Run the encoder with pruning: embed, then per layer attend, score, prune, FFN; classify.

        Args:
            input_ids: (B, T) token ids, classification token first.
            attention_mask: (B, T) 1 for real tokens, 0 for padding.
            labels: (B,) class indices; when given the output carries a loss.
            mode: overrides the configured mode for this call.
            thresholds: (L,) theta^l for this call instead of the learned ones (a what-if).
            topk_keep: per-layer kept fractions for this call (topk mode) instead of the config's.
            force_keep: (B, T) bool, positions that survive every layer whatever their score.
        """
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"Unknown pruning mode {mode!r}: use one of {', '.join(MODES)}.")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        theta = self.thresholds() if thresholds is None else torch.as_tensor(
            thresholds, dtype=torch.float32, device=input_ids.device)
        if theta.shape != (self.num_layers,):
            raise ValueError(f"thresholds needs one value per layer ({self.num_layers}), got shape {tuple(theta.shape)}.")
        st = self._start(input_ids, attention_mask, mode, topk_keep, force_keep)
        for l, layer in enumerate(self.adapter.layers):
            self._layer(st, l, layer, mode, theta)
        return self._finish(st, theta, labels)

    def _start(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mode: str,
               topk_keep: list[float] | None = None, force_keep: torch.Tensor | None = None) -> "_RunState":
        """The state entering the first layer: embeddings, every real token alive, empty records."""
        bsz, length = input_ids.shape
        dev = input_ids.device
        hidden = self.adapter.embed(input_ids)  # (B, T, d)
        alive = attention_mask.bool().clone()  # (B, t) over the current columns
        L, real_len = self.num_layers, alive.sum(1)
        soft = mode == "soft"
        keep_frac = list(topk_keep) if topk_keep is not None else self.ltp_config.topk_keep
        if mode == "topk" and (keep_frac is None or len(keep_frac) != L):
            raise ValueError(f"topk_keep needs one fraction per layer ({L}), got {keep_frac}.")
        return _RunState(
            hidden=hidden, bias=self.adapter.position_bias(hidden), alive=alive,
            special=special_positions(alive), positions=torch.arange(length, device=dev).expand(bsz, length),
            real_len=real_len, length_factor=self.length_factor(real_len)[:, None],
            rec_alive=torch.zeros(L, bsz, length, dtype=torch.bool, device=dev),
            rec_scores=torch.zeros(L, bsz, length, dtype=hidden.dtype, device=dev),
            rec_soft=torch.zeros(L, bsz, length, dtype=hidden.dtype, device=dev) if soft else None,
            macs=torch.zeros(bsz, dtype=torch.float64, device=dev),
            macs_all=torch.zeros(bsz, dtype=torch.float64, device=dev),
            survival=alive.to(hidden.dtype) if soft else None,
            log_survival=torch.zeros_like(hidden[..., 0]) if soft else None,
            hard_alive=alive.clone() if soft else None,
            force=None if force_keep is None else force_keep.bool().to(dev) & alive,
            topk_keep=keep_frac,
            final_input=(),  # set on entering the last layer
        )

    def _layer(self, st: "_RunState", l: int, layer: nn.Module, mode: str, theta: torch.Tensor) -> None:
        """One encoder layer: attention and scores, this mode's pruning around the FFN, FLOPs."""
        last = l == self.num_layers - 1
        if last:
            st.final_input = (st.hidden, st.positions, st.alive)
        n_attn = st.alive.sum(1)  # (B,) tokens entering this layer
        attn_out, scores = self._attend(st, layer, mode)
        st.rec_scores[l].scatter_(1, st.positions, scores)
        prunes = mode != "none" and (l > 0 or self.ltp_config.prune_first_layer)
        mask = None
        # hard / top-k remove tokens before the FFN: a removed token's FFN is never run (the saving)
        if prunes and mode in ("hard", "topk"):
            attn_out = self._remove(st, attn_out, scores, theta[l], l, mode)
        elif prunes:  # soft: masks decided now, applied after the FFN; negligible tokens removed
            mask, attn_out = self._soft_prune(st, attn_out, scores, theta[l], l, last)
        elif mode == "soft":
            self._soft_unpruned_layer(st, n_attn, last)
        # the classifier reads [CLS] alone, so the last layer's FFN runs for [CLS] only (every mode)
        st.hidden = self.adapter.feed_forward(layer, attn_out[:, :1] if last else attn_out)  # (B, t, d)
        if mask is not None and not last:  # soft: the token's whole layer output fades with its mask
            st.hidden = st.hidden * mask.unsqueeze(-1)
        self._count_macs(st, l, n_attn, last)

    def _attend(self, st: "_RunState", layer: nn.Module, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention over the alive tokens, and the importance score each key receives.

        Returns: attention block output (B, t, d), scores (B, t)."""
        cfg = self.ltp_config
        # key fading (soft): a softly pruned key's logits get log(survival), so it is attended
        # in proportion to how much of it survives (hard pruning is the limit)
        fade = mode == "soft" and cfg.key_fade
        key_mask = _additive_mask(st.alive, st.hidden.dtype, st.log_survival if fade else None)  # (B, 1, 1, t)
        attn_out, probs = self.adapter.attend(layer, st.hidden, key_mask, st.bias)  # probs (B, H, t, t)
        scores = importance_scores(probs, st.alive, cfg.n_ref, st.survival,
                                   special=st.special if cfg.score == "sink" else None,
                                   key_weight=st.survival if fade else None)
        return attn_out, scores

    def _kept_anyway(self, st: "_RunState", scores: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """(B, t) bool: tokens that survive this layer whatever the threshold: the min_keep
        best-scoring content tokens among `candidates`, and the forced positions."""
        k = self.ltp_config.min_keep
        kept = torch.zeros_like(candidates) if st.force is None else st.force & candidates
        if k <= 0:
            return kept
        content = candidates & ~st.special
        ranked = torch.where(content, scores.detach(), torch.full_like(scores, -1.0))  # scores >= 0
        rank = torch.argsort(torch.argsort(ranked, dim=1, descending=True, stable=True), dim=1)
        return kept | (content & (rank < k))

    def _compact_state(self, st: "_RunState", keep: torch.Tensor, *tokens: torch.Tensor) -> list[torch.Tensor]:
        """Remove the columns not in `keep` (B, t) from the run state (kept ones first, in input
        order); returns `tokens` (B, t, ...) gathered the same way."""
        order, new_len = _compact(keep)
        order = order[:, :new_len]  # (B, t'): the kept columns, in input order, then padding
        st.alive = keep.gather(1, order)
        st.special = st.special.gather(1, order)
        st.positions = st.positions.gather(1, order)
        st.bias = self.adapter.gather_bias(st.bias, order)
        for name in ("survival", "log_survival", "hard_alive", "force"):
            value = getattr(st, name)
            if value is not None:
                setattr(st, name, value.gather(1, order))
        return [_gather_tokens(x, order) for x in tokens]

    def _remove(self, st: "_RunState", attn_out, scores, theta_l, l: int, mode: str) -> torch.Tensor:
        """Hard / top-k: gather the kept tokens to the front and drop the rest; they skip this
        layer's FFN (removal before it saves its cost) and every later layer."""
        keep = (st.alive & (scores >= theta_l * st.length_factor) if mode == "hard"
                else self._topk_keep(scores, st.alive, st.real_len, st.topk_keep[l]))
        keep = keep | self._kept_anyway(st, scores, st.alive)
        keep[:, 0] = True  # the classification token always stays
        (attn_out,) = self._compact_state(st, keep, attn_out)
        return attn_out

    @staticmethod
    def _topk_keep(scores: torch.Tensor, alive: torch.Tensor, real_len: torch.Tensor, fraction: float) -> torch.Tensor:
        """(B, t) bool: the ceil(fraction * real_len) highest-scoring alive tokens."""
        k = torch.ceil(fraction * real_len.to(torch.float32)).long().clamp(min=1)  # (B,)
        ranked = torch.where(alive, scores, torch.full_like(scores, -1.0))  # scores >= 0: the dead rank last
        ranked[:, 0] = float("inf")  # [CLS] counts among the kept
        # the argsort of the descending argsort is each token's rank (0 = best): keep rank < k per row
        rank = torch.argsort(torch.argsort(ranked, dim=1, descending=True, stable=True), dim=1)
        return alive & (rank < k[:, None])

    def _soft_prune(self, st: "_RunState", attn_out, scores, theta_l, l: int, last: bool):
        """Soft: the layer's mask m = sigmoid((s - theta) / T) (1 for the tokens kept anyway),
        survival and the regulariser's terms (expected and binarised FLOPs); tokens whose
        survival fell below soft_drop_below are removed before the FFN.

        Returns: the mask (B, t') to scale the FFN output with, and attn_out (B, t', d)."""
        cfg = self.ltp_config
        z = (scores - theta_l * st.length_factor) / cfg.temperature
        anyway = self._kept_anyway(st, scores, st.hard_alive)
        anyway[:, 0] = True
        m = torch.where(anyway, torch.ones_like(z), torch.where(st.alive, torch.sigmoid(z), torch.zeros_like(z)))
        log_m = F.logsigmoid(z).masked_fill(~st.alive, -1e4).masked_fill(anyway, 0.0)  # exact log of tiny masks
        st.log_survival = st.log_survival + log_m
        entering, hard_entering = st.survival.sum(1), st.hard_alive.sum(1)  # expected / binarised tokens entering
        st.survival = st.survival * m
        st.hard_alive = st.hard_alive & ((z >= 0) | anyway)
        st.rec_soft[l].scatter_(1, st.positions, m)
        st.kept_terms.append((m * st.alive).sum(1) / st.real_len)  # mean over real tokens
        one = torch.ones_like(entering)
        d, d_ff = self.hidden_size, self.intermediate_size
        st.exp_macs.append(layer_macs(entering, one if last else st.survival.sum(1), d, d_ff))
        st.bin_macs.append(layer_macs(hard_entering, one if last else st.hard_alive.sum(1), d, d_ff))
        if cfg.soft_drop_below > 0 and not last:
            keep = st.alive & (st.survival >= cfg.soft_drop_below)
            keep[:, 0] = True
            if not torch.equal(keep, st.alive):
                attn_out, m = self._compact_state(st, keep, attn_out, m)
        return m, attn_out

    def _soft_unpruned_layer(self, st: "_RunState", n_attn: torch.Tensor, last: bool) -> None:
        """Soft, a layer that does not prune (the first, unless prune_first_layer): its expected
        and binarised MACs are its real ones (every token; in the FFN [CLS] alone if it is also
        the last layer)."""
        n = n_attn.to(st.hidden.dtype)
        macs = layer_macs(n, torch.ones_like(n) if last else n, self.hidden_size, self.intermediate_size)
        st.exp_macs.append(macs)
        st.bin_macs.append(macs)

    def _count_macs(self, st: "_RunState", l: int, n_attn: torch.Tensor, last: bool) -> None:
        """Record who is alive after layer l and add the layer's MACs (honest and all-tokens)."""
        d, d_ff = self.hidden_size, self.intermediate_size
        st.rec_alive[l].scatter_(1, st.positions, st.alive)
        n_ffn = torch.ones_like(n_attn) if last else st.alive.sum(1)
        st.macs += layer_macs(n_attn, n_ffn, d, d_ff)
        st.macs_all += layer_macs(n_attn, st.alive.sum(1), d, d_ff)

    def _finish(self, st: "_RunState", theta: torch.Tensor, labels: torch.Tensor | None) -> LTPOutput:
        """Classify from the final [CLS] state; gather the records, FLOPs counts and losses."""
        d, d_ff, L = self.hidden_size, self.intermediate_size, self.num_layers
        unpruned = unpruned_macs(st.real_len, L, d, d_ff)
        logits = self.adapter.classify(st.hidden)
        out = LTPOutput(
            logits=logits, alive=st.rec_alive, scores=st.rec_scores, soft_masks=st.rec_soft,
            thresholds=theta.detach().clone(), length_factor=st.length_factor[:, 0].detach(),
            flops=2 * st.macs, flops_unpruned=2 * unpruned, flops_all_tokens=2 * st.macs_all,
            flops_unpruned_all_tokens=2 * L * layer_macs(st.real_len, st.real_len, d, d_ff),
            last_hidden_state=st.hidden, final_input_state=st.final_input[0],
            final_input_positions=st.final_input[1], final_input_alive=st.final_input[2],
        )
        if st.exp_macs and st.kept_terms:  # soft mode with a pruning layer: FLOPs ratios of the batch's totals
            out.expected_flops_ratio = (torch.stack(st.exp_macs, 0).sum() / unpruned.sum()).to(logits.dtype)
            out.binarised_flops_ratio = (torch.stack(st.bin_macs, 0).sum() / unpruned.sum()).detach().to(logits.dtype)
            if self.ltp_config.regularizer == "flops":
                out.mask_loss = out.expected_flops_ratio
            else:
                out.mask_loss = torch.stack(st.kept_terms, 0).sum(0).mean()
        if labels is not None:
            out.task_loss = F.cross_entropy(logits, labels)
            out.loss = out.task_loss
            if out.mask_loss is not None:
                out.loss = out.loss + self.ltp_config.mask_lambda * out.mask_loss
        return out

    def check_max_length(self, max_length: int) -> None:
        """Raise ValueError if the backbone has no position embeddings for max_length tokens."""
        ids = torch.full((1, max_length), self.hf.config.pad_token_id + 1, dtype=torch.long)
        try:
            with torch.no_grad():
                self.adapter.embed(ids.to(self.threshold_offsets.device))
        except (IndexError, RuntimeError):
            limit = getattr(self.hf.config, "max_position_embeddings", "?")
            raise ValueError(f"--max-length {max_length} is longer than the backbone supports "
                             f"(max_position_embeddings={limit}); use a smaller --max-length.") from None

    # ----- parameters

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters split into model weights and the threshold offsets."""
        weights = [p for n, p in self.named_parameters() if p.requires_grad and n != "threshold_offsets"]
        thresholds = [self.threshold_offsets] if self.threshold_offsets.requires_grad else []
        return {"weights": weights, "thresholds": thresholds}

    def freeze_word_embeddings(self) -> list[str]:
        """Freeze the input word embeddings (they stay as in the backbone); returns their names."""
        emb = self.hf.get_input_embeddings()
        emb.weight.requires_grad_(False)
        return [n for n, p in self.named_parameters() if p is emb.weight]


def build_model(
    backbone: str,
    label_names: list[str],
    ltp_config: LTPConfig | None = None,
    seed: int = 0,
) -> LTPForSequenceClassification:
    """A fresh LTP classifier on a pretrained backbone (Hub id, local path or the default)."""
    return LTPForSequenceClassification(load_classifier(backbone, label_names, seed), ltp_config or LTPConfig())


__all__ = [
    "MODES",
    "LTPConfig",
    "LTPOutput",
    "LTPForSequenceClassification",
    "EncoderAdapter",
    "build_model",
    "importance_scores",
    "special_positions",
]
