"""Int8 dynamic quantization of a model's linear layers, on the int8 kernel that is fastest on this CPU.

LTP removes tokens; int8 makes each remaining token's matrix products cheaper. The two compose:
a pruned layer runs the same quantized linears on fewer rows.

The scheme is the usual dynamic one: weights quantized once, symmetric per output channel;
activations quantized at run time; the product in int8 with int32 accumulation, rescaled to
float. Which int8 kernel is fast, or even correct, depends on the CPU: on a VNNI CPU (AVX-512
VNNI, AMX) every kernel below beats fp32; on an AVX2-only CPU ``torch._int_mm`` (oneDNN s8s8)
took 513 ms where fp32 took 15 ms, and oneDNN's u8s8 pair products saturate int16 (wrong
answers), while fbgemm with 7-bit activations stays correct and fast. So each kernel is a
backend (``BACKENDS``), and when a model is quantized ``choose_backend`` times each on the
model's own layer shapes (cached per process), checks it against fp32, and takes the fastest
correct one; where none beats fp32, int8 is refused (``QuantizationError``).

``LTP_INT8_BACKEND=<name>[,<name>...]`` skips the timing and uses the first of those backends that is
available and correct here: for reproducible runs, and for tests whose tiny layers int8 cannot speed up.
"""

from __future__ import annotations

import math
import os
import platform
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

QUANTIZATIONS = ("none", "int8")  # "none": the stored fp32 weights
BACKEND_ENV = "LTP_INT8_BACKEND"  # backend names, comma-separated: the first correct one, untimed; unset/"auto": timed
MAX_REL_ERROR = 0.05  # a backend is correct when max|y - y_fp32| <= this * max|y_fp32| (good ones: 0.01-0.02)
MIN_SPEEDUP = 1.1  # int8 must run the linears at least this much faster than fp32 to be worth its error
TIMING_ROWS = (48, 512)  # rows timed per layer shape: a live text (~40 tokens), a batch (32 texts of ~16 tokens left)
TIMING_REPEATS = 3  # timed calls per candidate and case (the fastest counts: a busy CPU only adds time)
_QMAX = 127  # symmetric int8 range [-127, 127]: -128 is left out so that negation stays in range
_ISA_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "FBGEMM_ENABLE_INSTRUCTIONS", "MKL_ENABLE_INSTRUCTIONS")


class QuantizationError(ValueError):
    """Int8 was asked for but cannot run (well) here; the message says why and what to do instead."""


# --------------------------------------------------------------------------- the CPU at hand


def cpu_info() -> dict:
    """The CPU that runs the kernels: model name, torch's vector capability (ISA), its int8 dot-product
    instructions, and any environment variable that forces a lower ISA (an emulated CPU)."""
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model is None:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {"model": model or platform.processor() or platform.machine(),
            "capability": torch.backends.cpu.get_cpu_capability(),
            "int8_instructions": [f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags],
            "isa_overrides": {k: os.environ[k] for k in _ISA_ENV if k in os.environ}}


def describe_cpu(info: dict | None = None) -> str:
    """One line: "AMD EPYC (AVX512, avx512_vnni)"; "(AVX2 forced by ATEN_CPU_CAPABILITY=avx2 ...)" when emulated."""
    info = info or cpu_info()
    if info["isa_overrides"]:
        forced = " ".join(f"{k}={v}" for k, v in info["isa_overrides"].items())
        return f"{info['model']} ({info['capability']} forced by {forced})"
    return f"{info['model']} ({', '.join([info['capability'], *info['int8_instructions']])})"


# --------------------------------------------------------------------------- int8 linear layers


def _row_scales(x: torch.Tensor) -> torch.Tensor:
    """Symmetric per-row scales (rows of ``x``: output channels of a weight, or tokens), shape (rows, 1)."""
    return x.abs().amax(dim=-1, keepdim=True).clamp_(min=1e-8).div_(_QMAX)


def _to_int8(x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    return torch.round(x / scales).clamp_(-_QMAX, _QMAX).to(torch.int8)


class Int8Linear(nn.Module):
    """A frozen ``nn.Linear`` for inference with int8 weights and dynamic int8 activations; each
    subclass is one backend's kernel (``backend`` names it)."""

    backend = "?"

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        """(rows, in) float32 -> (rows, out) float32."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._rows(x.reshape(-1, self.in_features).float())
        return y.reshape(*x.shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 ({self.backend})"


class IntMMLinear(Int8Linear):
    """Per-token int8 activations and ``torch._int_mm`` (oneDNN s8s8 GEMM; what torchao calls too)."""

    backend = "int_mm"

    def __init__(self, linear: nn.Linear):
        super().__init__(linear)
        w = linear.weight.detach().float()
        scales = _row_scales(w)  # (out, 1)
        self.register_buffer("weight_int8", _to_int8(w, scales))  # (out, in)
        self.register_buffer("weight_scale", scales.reshape(1, -1).contiguous())  # (1, out)
        self.register_buffer("bias", linear.bias.detach().float() if linear.bias is not None else None)

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        x_scale = _row_scales(rows)  # (rows, 1)
        acc = torch._int_mm(_to_int8(rows, x_scale), self.weight_int8.t())  # int32 (rows, out)
        y = acc.float().mul_(x_scale).mul_(self.weight_scale)
        return y.add_(self.bias) if self.bias is not None else y


@contextmanager
def _quantized_engine(engine: str):
    """torch's quantized engine set to ``engine`` while weights are packed (the packed weights then
    keep their engine's kernel whatever the global setting is later)."""
    before = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = before


class PackedInt8Linear(Int8Linear):
    """``quantized::linear_dynamic`` (what ``torch.ao.quantization.quantize_dynamic`` runs) on weights
    packed by one engine: per-tensor uint8 activations chosen per call, per-channel int8 weights.
    ``reduce_range`` quantizes activations to 7 bits so that CPUs without VNNI, whose int8 products
    go through saturating int16 pairs, stay exact."""

    def __init__(self, linear: nn.Linear, engine: str, reduce_range: bool, backend: str):
        super().__init__(linear)
        self.engine, self.reduce_range, self.backend = engine, reduce_range, backend
        w = linear.weight.detach().float()
        scales = _row_scales(w).reshape(-1).double()  # (out,)
        bias = linear.bias.detach().float() if linear.bias is not None else None
        with _quantized_engine(engine), warnings.catch_warnings():
            # torch warns that quantized tensors are deprecated; the packed weights below are all we keep
            warnings.filterwarnings("ignore", message=r".*quantize_per_channel.*deprecated")
            qw = torch.quantize_per_channel(w, scales, torch.zeros_like(scales, dtype=torch.long), 0, torch.qint8)
            self._packed = torch.ops.quantized.linear_prepack(qw, bias)

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(rows.contiguous(), self._packed, self.reduce_range)


@dataclass(frozen=True)
class Int8Backend:
    """One int8 kernel: its name (stored with every int8 result), how to build a layer, where it exists."""

    name: str
    make: Callable[[nn.Linear], Int8Linear]
    available: Callable[[], bool] = lambda: True


def _engine(name: str) -> Callable[[], bool]:
    return lambda: name in torch.backends.quantized.supported_engines


BACKENDS = (
    Int8Backend("int_mm", IntMMLinear, lambda: hasattr(torch, "_int_mm")),
    Int8Backend("fbgemm", lambda lin: PackedInt8Linear(lin, "fbgemm", False, "fbgemm"), _engine("fbgemm")),
    Int8Backend("fbgemm-7bit", lambda lin: PackedInt8Linear(lin, "fbgemm", True, "fbgemm-7bit"), _engine("fbgemm")),
    Int8Backend("onednn", lambda lin: PackedInt8Linear(lin, "onednn", False, "onednn"), _engine("onednn")),
    # qnnpack is ARM's kernel (on x86 a slow fallback): a candidate only where fbgemm is absent
    Int8Backend("qnnpack", lambda lin: PackedInt8Linear(lin, "qnnpack", False, "qnnpack"),
                lambda: _engine("qnnpack")() and not _engine("fbgemm")()),
)


def backend_named(name: str) -> Int8Backend:
    """The backend called ``name``; ValueError naming the choices when there is none."""
    for b in BACKENDS:
        if b.name == name:
            return b
    raise ValueError(f"Unknown int8 backend {name!r}; choose one of {', '.join(b.name for b in BACKENDS)} "
                     f"(or leave {BACKEND_ENV} unset to pick the fastest).")


# --------------------------------------------------------------------------- choosing a backend


@dataclass
class Int8Choice:
    """The outcome of timing the int8 backends on one model's layer shapes."""

    backend: str  # the one used
    speedup: float | None  # its speed over fp32 on the linears (geometric mean over shapes x rows); None: not timed
    candidates: dict = field(default_factory=dict)  # name -> {"max_rel_error", "correct", "speedup"}
    shapes: list = field(default_factory=list)  # [(in, out)] timed
    rows: tuple = TIMING_ROWS
    threads: int = 1

    def as_record(self) -> dict:
        return asdict(self)


def time_call(module: nn.Module, x: torch.Tensor) -> float:
    """Seconds for one call of ``module`` on ``x`` (the chooser's clock; tests pass their own)."""
    t0 = time.perf_counter()
    module(x)
    return time.perf_counter() - t0


def _test_layer(shape: tuple[int, int], gen: torch.Generator) -> nn.Linear:
    """A linear layer of ``shape`` (in, out) with seeded weights spread over the whole range, as
    ``nn.Linear`` initializes them: full-range int8 weights are what makes a kernel's saturating
    int16 pair products show (trained weights, mostly small, would hide it on most rows)."""
    fan_in, out = shape
    lin = nn.Linear(fan_in, out, device="meta")
    bound = 1 / math.sqrt(fan_in)
    lin.weight = nn.Parameter((torch.rand(out, fan_in, generator=gen) * 2 - 1) * bound, requires_grad=False)
    lin.bias = nn.Parameter((torch.rand(out, generator=gen) * 2 - 1) * bound, requires_grad=False)
    return lin


def _max_rel_error(module: nn.Module, linear: nn.Linear, x: torch.Tensor) -> float:
    ref = linear(x)
    return float((module(x) - ref).abs().max() / ref.abs().max().clamp(min=1e-12))


def _fastest_times(modules: dict[str, nn.Module], x: torch.Tensor, timer) -> dict[str, float]:
    """Each module's fastest of TIMING_REPEATS calls, interleaved so a load spike hits all alike."""
    for m in modules.values():
        m(x)  # warm-up: first calls allocate and spin up threads
    best = dict.fromkeys(modules, math.inf)
    for _ in range(TIMING_REPEATS):
        for name, m in modules.items():
            best[name] = min(best[name], timer(m, x))
    return best


def _refusal(reason: str) -> QuantizationError:
    return QuantizationError(f"int8 is refused on this CPU ({describe_cpu()}): {reason}, so use fp32 weights "
                             "(leave out --int8).")


def choose_backend(shapes: list[tuple[int, int]], backends=None, timer=None, timed: bool = True) -> Int8Choice:
    """Check each available backend against fp32 on a seeded layer of each (in, out) shape and, with
    ``timed``, time it there at TIMING_ROWS rows; the fastest correct one wins (speed: geometric
    mean of fp32's time over its own). Raises QuantizationError when none is correct (within
    MAX_REL_ERROR) or none runs at least MIN_SPEEDUP times as fast as fp32. Untimed, the first
    correct backend in ``backends`` order wins. ``timer(module, x)``: seconds per call (tests fake it)."""
    timer = timer or time_call
    backends = [b for b in (backends or BACKENDS) if b.available()]
    gen = torch.Generator().manual_seed(0)
    rows = TIMING_ROWS if timed else TIMING_ROWS[:1]
    report = {b.name: {"max_rel_error": 0.0, "correct": True, "speedup": None} for b in backends}
    log_speedup, cases = dict.fromkeys(report, 0.0), 0
    with torch.inference_mode():
        for shape in shapes:
            linear = _test_layer(shape, gen)
            built = {b.name: b.make(linear) for b in backends}
            for n in rows:
                x = torch.randn(n, shape[0], generator=gen)  # (rows, in)
                for name, m in built.items():
                    err = _max_rel_error(m, linear, x)
                    report[name]["max_rel_error"] = round(max(report[name]["max_rel_error"], err), 5)
                    report[name]["correct"] &= err <= MAX_REL_ERROR
                if timed:
                    t = _fastest_times({"fp32": linear, **built}, x, timer)
                    for name in built:
                        log_speedup[name] += math.log(t["fp32"] / t[name])
                    cases += 1
    for name in report:
        report[name]["speedup"] = round(math.exp(log_speedup[name] / cases), 3) if cases else None
    correct = [n for n in report if report[n]["correct"]]
    if not correct:
        raise _refusal(f"no int8 kernel available here ({', '.join(report) or 'none'}) matches fp32 within "
                       f"{MAX_REL_ERROR:.0%}")
    best = max(correct, key=lambda n: report[n]["speedup"] or 0.0) if timed else correct[0]
    if timed and report[best]["speedup"] < MIN_SPEEDUP:
        raise _refusal(f"its fastest correct int8 kernel ({best}) runs this model's linear layers at "
                       f"{report[best]['speedup']:.2f}x fp32's speed (less than {MIN_SPEEDUP}x)")
    return Int8Choice(best, report[best]["speedup"], report, [list(s) for s in shapes], rows,
                      torch.get_num_threads())


_CHOICES: dict[tuple, Int8Choice] = {}  # per process: (shapes, threads, forced backends) -> choice


def _choice_for(shapes: list[tuple[int, int]], forced: tuple[str, ...]) -> Int8Choice:
    """The cached choice for these layer shapes at the current thread count; ``forced``: the first of
    those backends that is available and correct, untimed (empty: the timed chooser)."""
    key = (tuple(shapes), torch.get_num_threads(), forced)
    if key not in _CHOICES:
        _CHOICES[key] = choose_backend(shapes, [backend_named(n) for n in forced], timed=False) if forced else \
            choose_backend(shapes)
    return _CHOICES[key]


# --------------------------------------------------------------------------- quantizing a model


def _is_encoder_linear(module: nn.Module, fqn: str) -> bool:
    """Quantize the encoder's linears; the classifier head (a few KB, decides the answer) stays fp32."""
    return isinstance(module, nn.Linear) and "classifier" not in fqn and module.in_features >= 16


def _shapes(linears: list[nn.Linear]) -> list[tuple[int, int]]:
    """The distinct (in, out) shapes of ``linears``, in order of first appearance."""
    return list(dict.fromkeys((m.in_features, m.out_features) for m in linears))


def quantize_int8(model: nn.Module, backend: str | None = None) -> nn.Module:
    """Swap ``model``'s encoder linear layers for int8 ones in place (CPU inference) and return it.

    The kernel is the first correct one of ``backend`` (names, comma-separated) if given, else of
    $LTP_INT8_BACKEND, else the fastest correct one on this CPU (``choose_backend``). The model is put in eval mode: quantized weights are for inference only.
    Raises QuantizationError when int8 would be wrong or no faster than fp32 here.
    """
    if next(model.parameters()).device.type != "cpu":
        raise QuantizationError("int8 dynamic quantization runs on the CPU here; use --device cpu.")
    if quantization_of(model) == "int8":
        return model
    model.eval()
    targets = [(fqn, m) for fqn, m in model.named_modules() if _is_encoder_linear(m, fqn)]
    names = backend or os.environ.get(BACKEND_ENV) or "auto"
    forced = () if names == "auto" else tuple(n.strip() for n in names.split(",") if n.strip())
    with torch.no_grad():
        choice = _choice_for(_shapes([m for _, m in targets]), forced)
        make = backend_named(choice.backend).make
        for fqn, linear in targets:
            parent_name, _, child = fqn.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, make(linear))
    model.quantization = "int8"
    model.int8_choice = choice
    return model


def apply_quantization(model: nn.Module, quantization: str, backend: str | None = None) -> nn.Module:
    """Return ``model`` quantized as asked ("none": unchanged; "int8": quantized in place)."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}.")
    if quantization == "int8":
        return quantize_int8(model, backend)
    return model


def quantization_of(model: nn.Module) -> str:
    """"int8" for a model quantized by this module, else "none"."""
    return getattr(model, "quantization", "none")


def int8_backend_of(model: nn.Module) -> str | None:
    """The int8 kernel a quantized model runs on (None for fp32)."""
    choice = getattr(model, "int8_choice", None)
    return choice.backend if choice else None


def int8_record(model: nn.Module) -> dict:
    """What to store beside an int8 result ({} for fp32): the backend, how it was chosen, and the CPU."""
    choice = getattr(model, "int8_choice", None)
    if quantization_of(model) != "int8" or choice is None:
        return {}
    return {"int8_backend": choice.backend, "int8_choice": choice.as_record(), "cpu": cpu_info()}


def quantized_linears(model: nn.Module) -> int:
    """How many linear layers hold int8 weights (0 for an fp32 model)."""
    return sum(1 for m in model.modules() if isinstance(m, Int8Linear))
