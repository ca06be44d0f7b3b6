"""Learned Token Pruning (LTP) around any BERT-family Hugging Face encoder.

Read top to bottom: the config, the output record, the encoder adapter (how to call one
layer's attention and feed-forward blocks for BERT, RoBERTa, MPNet ...), the importance
score and FLOPs helpers, and the model itself. The method follows ../shared/LTP-NOTES.md:

* importance  s^l[k] = 1/(H * N_ref) * sum_h sum_{q alive} A_h^l[q, k], N_ref constant;
* threshold   theta^l = f * l / L + t^l (t^l learned, layer 0 never pruned);
* soft mode   layer output multiplied by m^l = sigmoid((s^l - theta^l) / T); the score's sum
  over "alive" queries weights each query by the product of its earlier masks, the soft
  counterpart of hard mode's cascade (without it, binarising removes far more than training saw);
* hard mode   tokens with s^l < theta^l are removed (gathered out) before layer l's
  feed-forward block and never come back; the first (classification) token is always kept.
* topk mode   the comparison baseline: the same score and removal, but layer l keeps a fixed
  fraction topk_keep[l] of the input's real tokens (the highest-scoring ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("none", "soft", "hard", "topk")


@dataclass
class LTPConfig:
    """Pruning hyper-parameters; saved inside every checkpoint."""

    mode: str = "none"  # "none" (plain encoder), "soft" (training stage 1), "hard" (binarised) or "topk"
    n_ref: int = 128  # constant score divisor N_ref: the training max length
    final_threshold: float | None = None  # f in theta^l = f*l/L + t^l; None -> 0.01 * 128 / n_ref
    temperature: float = 1e-3  # T of the soft mask sigmoid((s - theta) / T)
    mask_lambda: float = 0.1  # weight of the L1 push towards pruning in soft mode
    topk_keep: list[float] | None = None  # topk mode: fraction of the input kept after each layer

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"Unknown pruning mode {self.mode!r}: use one of {', '.join(MODES)}.")
        if self.n_ref <= 0:
            raise ValueError(f"n_ref must be positive (the training max length), got {self.n_ref}.")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive (about 1e-3), got {self.temperature}.")
        if self.mask_lambda < 0:
            raise ValueError(f"mask_lambda must be >= 0, got {self.mask_lambda}.")
        if self.final_threshold is None:
            self.final_threshold = 0.01 * 128 / self.n_ref
        if self.final_threshold < 0:
            raise ValueError(f"final_threshold must be >= 0, got {self.final_threshold}.")
        if self.mode == "topk" and not self.topk_keep:
            raise ValueError("topk mode needs topk_keep: the fraction of tokens kept after each layer.")
        if self.topk_keep is not None and not all(0 < k <= 1 for k in self.topk_keep):
            raise ValueError(f"topk_keep fractions must be in (0, 1], got {self.topk_keep}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LTPConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class LTPOutput:
    """What one forward pass returns. B: batch, T: input length, L: layers, C: classes.

    Positions are those of the input (before any removal), so records of different layers
    line up. A token "alive at layer l" survived layer l's pruning and enters layer l+1.
    """

    logits: torch.Tensor  # (B, C)
    loss: torch.Tensor | None = None  # task loss (+ mask_lambda * mask_loss in soft mode)
    task_loss: torch.Tensor | None = None  # cross-entropy alone
    mask_loss: torch.Tensor | None = None  # sum over layers of the mean soft mask (soft mode)
    alive: torch.Tensor | None = None  # (L, B, T) bool: alive after layer l's pruning
    scores: torch.Tensor | None = None  # (L, B, T) importance at layer l (0 where not alive)
    soft_masks: torch.Tensor | None = None  # (L, B, T) soft masks (soft mode only)
    thresholds: torch.Tensor | None = None  # (L,) theta^l used
    flops: torch.Tensor | None = None  # (B,) FLOPs of the encoder layers as run
    flops_unpruned: torch.Tensor | None = None  # (B,) FLOPs with every real token in every layer
    last_hidden_state: torch.Tensor | None = None  # (B, t, d) final states of the survivors
    # the states the final layer reads (the output of the last-but-one layer, for the tokens alive
    # after it; layers are 0-based here): the
    # last layer's own pruning only skips FFNs whose outputs nothing reads, so these are the
    # tokens that matter at the end
    final_input_state: torch.Tensor | None = None  # (B, t', d)
    final_input_positions: torch.Tensor | None = None  # (B, t')
    final_input_alive: torch.Tensor | None = None  # (B, t') bool

    @property
    def tokens_alive(self) -> torch.Tensor:
        """(L, B) number of tokens alive after each layer."""
        return self.alive.sum(-1)


# --------------------------------------------------------------------------- encoders


class EncoderAdapter:
    """How to run embeddings, one layer's attention and one layer's feed-forward block.

    Covers encoders whose layers are `attention` + `intermediate` + `output` modules
    (BERT, RoBERTa, XLM-R, ELECTRA, MPNet ...). MPNet adds a relative position bias that is
    computed once and gathered along with the surviving tokens.
    """

    def __init__(self, hf_model: nn.Module):
        self.hf = hf_model
        self.base = hf_model.base_model
        self.model_type = hf_model.config.model_type
        encoder = getattr(self.base, "encoder", None)
        layers = getattr(encoder, "layer", None)
        if layers is None or not all(
            hasattr(m, "attention") and hasattr(m, "intermediate") and hasattr(m, "output") for m in layers
        ):
            raise ValueError(
                f"Encoder type {self.model_type!r} is not supported: LTP needs BERT-style layers "
                "(attention, intermediate, output). Use a BERT, RoBERTa or MPNet backbone."
            )
        impl = getattr(hf_model.config, "_attn_implementation", "eager")
        if impl not in (None, "eager"):
            raise ValueError(
                f"LTP needs attention probabilities; load the backbone with "
                f'attn_implementation="eager" (got {impl!r}).'
            )
        self.encoder = encoder
        self.layers = layers
        self.has_position_bias = hasattr(encoder, "relative_attention_bias")

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids)  # (B, T, d)

    def position_bias(self, hidden: torch.Tensor) -> torch.Tensor | None:
        if not self.has_position_bias:
            return None
        return self.encoder.compute_position_bias(hidden)  # (B, H, T, T)

    def attend(self, layer: nn.Module, hidden, additive_mask, position_bias):
        """Returns (attention block output (B, t, d), attention probabilities (B, H, t, t))."""
        if self.has_position_bias:
            out = layer.attention(hidden, additive_mask, position_bias=position_bias, output_attentions=True)
        else:
            out = layer.attention(hidden, attention_mask=additive_mask)
        attn_out, probs = out[0], out[1]
        if probs is None:
            raise ValueError('Attention probabilities came back empty: load with attn_implementation="eager".')
        return attn_out, probs

    @staticmethod
    def feed_forward(layer: nn.Module, attn_out: torch.Tensor) -> torch.Tensor:
        return layer.output(layer.intermediate(attn_out), attn_out)

    def classify(self, sequence_output: torch.Tensor) -> torch.Tensor:
        """The HF head on the final states; position 0 is the classification token."""
        pooler = getattr(self.base, "pooler", None)
        if pooler is not None:  # BERT: pooler -> dropout -> linear
            return self.hf.classifier(self.hf.dropout(pooler(sequence_output)))
        return self.hf.classifier(sequence_output)  # RoBERTa / MPNet heads read [:, 0]


# --------------------------------------------------------------------------- maths


def importance_scores(
    probs: torch.Tensor, alive: torch.Tensor, n_ref: int, query_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """s[b, k] = 1/(H * n_ref) * sum_h sum_{q alive} A[b, h, q, k].

    Args:
        probs: (B, H, t, t) post-softmax attention, queries on dim 2, keys on dim 3.
        alive: (B, t) bool, the real, not yet pruned positions.
        query_weight: (B, t) soft aliveness of each query (soft mode: the product of the
            token's earlier soft masks), replacing the 0/1 alive indicator of the sum.
    Returns: (B, t) scores; 0 at positions that are not alive.
    """
    heads = probs.shape[1]
    w = alive.to(probs.dtype) if query_weight is None else query_weight.to(probs.dtype)
    received = (probs * w[:, None, :, None]).sum(dim=(1, 2))  # (B, t)
    return received / (heads * n_ref) * alive.to(probs.dtype)


def soft_mask(scores: torch.Tensor, threshold: torch.Tensor, temperature: float) -> torch.Tensor:
    """m = sigmoid((s - theta) / T), same shape as scores."""
    return torch.sigmoid((scores - threshold) / temperature)


def layer_macs(n_attn: torch.Tensor, n_ffn: torch.Tensor, d: int, d_ff: int) -> torch.Tensor:
    """Multiply-accumulates of one layer: 4 d^2 n_a + 2 d n_a^2 (attention) + 2 d d_ff n_f."""
    n_attn, n_ffn = n_attn.double(), n_ffn.double()
    return 4 * d * d * n_attn + 2 * d * n_attn**2 + 2 * d * d_ff * n_ffn


def _additive_mask(alive: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, t) bool -> (B, 1, 1, t) additive key mask (0 alive, very negative elsewhere)."""
    return (~alive)[:, None, None, :].to(dtype) * torch.finfo(dtype).min


def _compact(keep: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Column order that puts kept positions first (original order kept), and the new length."""
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # (B, t)
    return order, int(keep.sum(1).max().item())


def _gather_tokens(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """x (B, t, ...) reordered along dim 1 by order (B, t')."""
    index = order.reshape(*order.shape, *([1] * (x.dim() - 2))).expand(*order.shape, *x.shape[2:])
    return x.gather(1, index)


def _gather_bias(bias: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Relative position bias (B, H, t, t) restricted to the kept rows and columns."""
    b, h = bias.shape[:2]
    n = order.shape[1]
    rows = order[:, None, :, None].expand(b, h, n, bias.shape[3])
    bias = bias.gather(2, rows)
    cols = order[:, None, None, :].expand(b, h, n, n)
    return bias.gather(3, cols)


# --------------------------------------------------------------------------- model


class LTPForSequenceClassification(nn.Module):
    """A Hugging Face sequence classifier with per-layer learned token-pruning thresholds."""

    def __init__(self, hf_model: nn.Module, ltp_config: LTPConfig | None = None):
        super().__init__()
        self.hf = hf_model
        self.ltp_config = ltp_config or LTPConfig()
        self.adapter = EncoderAdapter(hf_model)
        cfg = hf_model.config
        self.num_layers = cfg.num_hidden_layers
        self.hidden_size = cfg.hidden_size
        self.intermediate_size = cfg.intermediate_size
        # t^l, the learned part of each layer's threshold (layer 0 is never pruned)
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
        """(L,) theta^l = f * l / L + t^l; entry 0 is unused (layer 0 is never pruned)."""
        layer = torch.arange(self.num_layers, device=self.threshold_offsets.device, dtype=torch.float32)
        base = self.ltp_config.final_threshold * layer / self.num_layers
        return base + self.threshold_offsets

    # ----- forward

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        mode: str | None = None,
    ) -> LTPOutput:
        """Run the encoder with pruning.

        Args:
            input_ids: (B, T) token ids, classification token first.
            attention_mask: (B, T) 1 for real tokens, 0 for padding.
            labels: (B,) class indices; when given the output carries a loss.
            mode: overrides the configured mode for this call.
        """
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"Unknown pruning mode {mode!r}: use one of {', '.join(MODES)}.")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        bsz, length = input_ids.shape
        n_ref = self.ltp_config.n_ref
        theta = self.thresholds()
        ad = self.adapter

        hidden = ad.embed(input_ids)  # (B, T, d)
        bias = ad.position_bias(hidden)  # (B, H, T, T) or None
        alive = attention_mask.bool().clone()  # (B, t) over the current columns
        positions = torch.arange(length, device=input_ids.device).expand(bsz, length)  # (B, t)
        real_len = alive.sum(1)

        rec_alive = torch.zeros(self.num_layers, bsz, length, dtype=torch.bool, device=input_ids.device)
        rec_scores = torch.zeros(self.num_layers, bsz, length, dtype=hidden.dtype, device=input_ids.device)
        rec_soft = torch.zeros_like(rec_scores) if mode == "soft" else None
        macs = torch.zeros(bsz, dtype=torch.float64, device=input_ids.device)
        mask_terms = []
        survival = alive.to(hidden.dtype) if mode == "soft" else None  # (B, t) product of soft masks so far

        final_input = (hidden, positions, alive)
        for l, layer in enumerate(ad.layers):
            if l == self.num_layers - 1:
                final_input = (hidden, positions, alive)
            n_attn = alive.sum(1)
            attn_out, probs = ad.attend(layer, hidden, _additive_mask(alive, hidden.dtype), bias)
            scores = importance_scores(probs, alive, n_ref, survival)  # (B, t)
            rec_scores[l].scatter_(1, positions, scores)
            prunable = l > 0 and mode != "none"
            if prunable and mode in ("hard", "topk"):
                keep = alive & (scores >= theta[l]) if mode == "hard" else self._topk_keep(scores, alive, real_len, l)
                keep[:, 0] = True  # the classification token always stays
                order, new_len = _compact(keep)
                order = order[:, :new_len]
                attn_out = _gather_tokens(attn_out, order)
                alive = keep.gather(1, order)
                positions = positions.gather(1, order)
                bias = _gather_bias(bias, order) if bias is not None else None
            hidden = ad.feed_forward(layer, attn_out)  # (B, t, d)
            if prunable and mode == "soft":
                m = soft_mask(scores, theta[l], self.ltp_config.temperature)
                m = torch.where(alive, m, torch.zeros_like(m))
                m[:, 0] = 1.0
                hidden = hidden * m.unsqueeze(-1)
                survival = survival * m
                rec_soft[l].scatter_(1, positions, m)
                mask_terms.append((m * alive).sum(1) / alive.sum(1))  # mean over real tokens
            rec_alive[l].scatter_(1, positions, alive)
            macs += layer_macs(n_attn, alive.sum(1), self.hidden_size, self.intermediate_size)

        logits = ad.classify(hidden)
        unpruned = self.num_layers * layer_macs(real_len, real_len, self.hidden_size, self.intermediate_size)
        out = LTPOutput(
            logits=logits,
            alive=rec_alive,
            scores=rec_scores,
            soft_masks=rec_soft,
            thresholds=theta.detach().clone(),
            flops=2 * macs,
            flops_unpruned=2 * unpruned,
            last_hidden_state=hidden,
            final_input_state=final_input[0],
            final_input_positions=final_input[1],
            final_input_alive=final_input[2],
        )
        if mask_terms:
            out.mask_loss = torch.stack(mask_terms, 0).sum(0).mean()
        if labels is not None:
            out.task_loss = F.cross_entropy(logits, labels)
            out.loss = out.task_loss
            if out.mask_loss is not None:
                out.loss = out.loss + self.ltp_config.mask_lambda * out.mask_loss
        return out

    def _topk_keep(self, scores: torch.Tensor, alive: torch.Tensor, real_len: torch.Tensor, layer: int) -> torch.Tensor:
        """(B, t) bool: the ceil(keep[layer] * real_len) highest-scoring alive tokens."""
        keep_frac = self.ltp_config.topk_keep
        if keep_frac is None or len(keep_frac) != self.num_layers:
            raise ValueError(f"topk_keep needs one fraction per layer ({self.num_layers}), got {keep_frac}.")
        k = torch.ceil(keep_frac[layer] * real_len.to(torch.float32)).long().clamp(min=1)  # (B,)
        ranked = torch.where(alive, scores, torch.full_like(scores, -1.0))
        ranked[:, 0] = float("inf")  # [CLS] counts among the kept
        rank = torch.argsort(torch.argsort(ranked, dim=1, descending=True, stable=True), dim=1)
        return alive & (rank < k[:, None])

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


__all__ = [
    "MODES",
    "LTPConfig",
    "LTPOutput",
    "LTPForSequenceClassification",
    "EncoderAdapter",
    "importance_scores",
    "soft_mask",
    "layer_macs",
]
