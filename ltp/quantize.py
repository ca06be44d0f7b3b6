"""Int8 dynamic quantization of a model's linear layers, through torchao.

LTP removes tokens; int8 makes each remaining token's matrix products cheaper. The two compose:
a pruned layer runs the same quantized linears on fewer rows. `torch.ao.quantization` is
deprecated and warns, so this uses its successor, torchao (`quantize_` with
`Int8DynamicActivationInt8WeightConfig`: int8 weights, activations quantized per token at run
time). torchao is imported lazily; its import-time noise (C++ extensions for GPUs it cannot load
on a CPU machine, a torch deprecation notice) is filtered out in ltp/__init__.py.
"""

from __future__ import annotations

import contextlib
import warnings

import torch
from torch import nn

QUANTIZATIONS = ("none", "int8")  # "none": the stored fp32 weights


class QuantizationError(RuntimeError):
    """Int8 was asked for but cannot run here; the message says what to install or change."""


@contextlib.contextmanager
def _quiet():
    """No warnings from torchao's import or from quantize_ (its log noise is filtered in ltp/__init__)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _torchao():
    try:
        with _quiet():
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    except ImportError as err:
        raise QuantizationError(f"int8 needs torchao ({err}); install it with: pip install -r requirements.txt") from err
    return quantize_, Int8DynamicActivationInt8WeightConfig


def _is_encoder_linear(module: nn.Module, fqn: str) -> bool:
    """Quantize the encoder's linears; the classifier head (a few KB, decides the answer) stays fp32."""
    return isinstance(module, nn.Linear) and "classifier" not in fqn and module.in_features >= 16


def quantize_int8(model: nn.Module) -> nn.Module:
    """Quantize ``model``'s encoder linear layers to int8 in place (CPU inference) and return it.

    The model is put in eval mode: quantized weights are for inference only.
    """
    quantize_, config = _torchao()
    if next(model.parameters()).device.type != "cpu":
        raise QuantizationError("int8 dynamic quantization runs on the CPU here; use --device cpu.")
    model.eval()
    with _quiet(), torch.no_grad():
        quantize_(model, config(), filter_fn=_is_encoder_linear)
    model.quantization = "int8"
    return model


def apply_quantization(model: nn.Module, quantization: str) -> nn.Module:
    """Return ``model`` quantized as asked ("none": unchanged; "int8": quantized in place)."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}.")
    if quantization == "int8":
        return quantize_int8(model)
    return model


def quantization_of(model: nn.Module) -> str:
    """"int8" for a model quantized by this module, else "none"."""
    return getattr(model, "quantization", "none")


def quantized_linears(model: nn.Module) -> int:
    """How many linear layers hold int8 weights (0 for an fp32 model)."""
    return sum(1 for m in model.modules() if isinstance(m, nn.Linear) and "Int8" in type(m.weight).__name__)
