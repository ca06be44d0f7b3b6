"""Int8 dynamic quantization of a model's linear layers: int8 weights, int8 activations, int8 GEMM.

LTP removes tokens; int8 makes each remaining token's matrix products cheaper. The two compose:
a pruned layer runs the same quantized linears on fewer rows.

The scheme is the usual dynamic one (the one `torch.ao.quantization.quantize_dynamic` and
torchao's `Int8DynamicActivationInt8WeightConfig` implement): weights quantized once, symmetric
per output channel; activations quantized at run time, symmetric per token (row); the product in
int8 with int32 accumulation, rescaled to float. The GEMM is `torch._int_mm`, PyTorch's own int8
matrix multiply (the kernel torchao calls too). We call it directly instead of through torchao
because torchao's CPU path is slower than fp32 here: on this 2-core x86 machine (AVX-512 VNNI),
a 384 -> 1536 linear on 1024 rows takes 8.2 ms in fp32, 9.5 ms through torchao 0.18 (its
tensor-subclass dispatch and its CPU rescale, pytorch/ao#4365) and 3.7 ms here.
`torch.ao.quantization` is deprecated (and its quantized tensors warn), so it is not used at all.
"""

from __future__ import annotations

import torch
from torch import nn

QUANTIZATIONS = ("none", "int8")  # "none": the stored fp32 weights
_QMAX = 127  # symmetric int8 range [-127, 127]: -128 is left out so that negation stays in range


class QuantizationError(RuntimeError):
    """Int8 was asked for but cannot run here; the message says what to install or change."""


def _row_scales(x: torch.Tensor) -> torch.Tensor:
    """Symmetric per-row scales (rows of ``x``: output channels of a weight, or tokens), shape (rows, 1)."""
    return x.abs().amax(dim=-1, keepdim=True).clamp_(min=1e-8).div_(_QMAX)


def _to_int8(x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    return torch.round(x / scales).clamp_(-_QMAX, _QMAX).to(torch.int8)


class Int8Linear(nn.Module):
    """A frozen ``nn.Linear`` for inference with int8 weights and per-token dynamic int8 activations."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        w = linear.weight.detach().float()
        scales = _row_scales(w)  # (out, 1)
        self.register_buffer("weight_int8", _to_int8(w, scales))  # (out, in)
        self.register_buffer("weight_scale", scales.reshape(1, -1).contiguous())  # (1, out)
        bias = linear.bias.detach().float() if linear.bias is not None else None
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features).float()
        x_scale = _row_scales(rows)  # (rows, 1)
        acc = torch._int_mm(_to_int8(rows, x_scale), self.weight_int8.t())  # int32 (rows, out)
        y = acc.float().mul_(x_scale).mul_(self.weight_scale)
        if self.bias is not None:
            y.add_(self.bias)
        return y.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, int8"


def _is_encoder_linear(module: nn.Module, fqn: str) -> bool:
    """Quantize the encoder's linears; the classifier head (a few KB, decides the answer) stays fp32."""
    return isinstance(module, nn.Linear) and "classifier" not in fqn and module.in_features >= 16


def quantize_int8(model: nn.Module) -> nn.Module:
    """Swap ``model``'s encoder linear layers for int8 ones in place (CPU inference) and return it.

    The model is put in eval mode: quantized weights are for inference only.
    """
    if next(model.parameters()).device.type != "cpu":
        raise QuantizationError("int8 dynamic quantization runs on the CPU here; use --device cpu.")
    if quantization_of(model) == "int8":
        return model
    model.eval()
    targets = [(fqn, m) for fqn, m in model.named_modules() if _is_encoder_linear(m, fqn)]
    with torch.no_grad():
        for fqn, linear in targets:
            parent_name, _, child = fqn.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, Int8Linear(linear))
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
    return sum(1 for m in model.modules() if isinstance(m, Int8Linear))
