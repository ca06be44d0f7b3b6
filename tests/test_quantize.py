"""Int8 dynamic quantization: encoder linears swapped for int8 ones, answers kept, pruning still removes tokens;
each int8 backend checked against fp32; the kernel chooser picks the fastest correct one or refuses int8."""

import subprocess
import sys

import pytest
import torch

from conftest import ragged_batch, tiny_hf
from ltp.model import LTPConfig, LTPForSequenceClassification
from ltp import quantize as q8
from ltp.quantize import (BACKENDS, Int8Backend, Int8Linear, QuantizationError, apply_quantization, choose_backend,
                          int8_backend_of, int8_record, quantization_of, quantize_int8, quantized_linears)


def _model(mode="hard", **cfg):
    m = LTPForSequenceClassification(tiny_hf("bert", hidden_size=64, intermediate_size=128),
                                     LTPConfig(mode=mode, **cfg)).eval()
    with torch.no_grad():
        m.threshold_offsets.fill_(0.05)  # removes some tokens of random text
    return m


def test_int8_quantizes_encoder_linears_and_keeps_the_head():
    m = _model()
    assert quantized_linears(m) == 0 and quantization_of(m) == "none"
    apply_quantization(m, "int8")
    layers = m.hf.config.num_hidden_layers
    assert quantized_linears(m) == 6 * layers + 1  # q, k, v, attention output, intermediate, output; pooler
    assert quantization_of(m) == "int8"
    assert type(m.hf.classifier.weight) is torch.nn.Parameter  # the head stays fp32
    q = m.hf.bert.encoder.layer[0].intermediate.dense
    assert isinstance(q, Int8Linear) and q.backend == int8_backend_of(m)
    assert not any(p.dtype == torch.float32 and p.dim() == 2 and p.shape == (q.out_features, q.in_features)
                   for p in q.parameters())  # no fp32 copy of the weight is kept


def _usable(backend: Int8Backend, shapes) -> bool:
    """Whether ``backend`` runs here and is correct on these shapes; when it is not, int8 on it is refused."""
    if not backend.available():
        return False
    try:
        choose_backend(shapes, [backend], timed=False)
        return True
    except QuantizationError:
        with pytest.raises(QuantizationError, match="refused"):
            quantize_int8(_model(), backend.name)
        return False


@pytest.mark.parametrize("backend", [b.name for b in BACKENDS])
def test_each_backend_linear_matches_fp32_on_any_row_count(backend):
    """One token, an odd count, a batch: each backend's int8 product stays within 3% of fp32's (a
    backend that is wrong on this CPU, e.g. saturating without VNNI, is refused instead)."""
    b = q8.backend_named(backend)
    if not _usable(b, [(48, 40)]):
        pytest.skip(f"{backend} is not available or not correct on this CPU (int8 on it is refused)")
    torch.manual_seed(0)
    lin = torch.nn.Linear(48, 40)
    q = b.make(lin)
    assert isinstance(q, Int8Linear) and q.backend == backend
    for rows in (1, 7, 64):
        x = torch.randn(2, rows, 48)
        with torch.no_grad():
            ref, got = lin(x), q(x)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        assert (got - ref).abs().max() < 0.03 * ref.abs().max()


@pytest.mark.parametrize("backend", [b.name for b in BACKENDS])
def test_each_backend_model_logits_close_to_fp32(backend):
    """A tiny random model on each backend: logits close to fp32's, the same prediction for most inputs."""
    b = q8.backend_named(backend)
    if not _usable(b, [(64, 64), (64, 128), (128, 64)]):
        pytest.skip(f"{backend} is not available or not correct on this CPU (int8 on it is refused)")
    ids, mask = ragged_batch(tiny_hf("bert"), b=16, t=24)
    ref, q = _model(), quantize_int8(_model(), backend)
    assert int8_backend_of(q) == backend and int8_backend_of(ref) is None
    with torch.inference_mode():
        a, c = ref(ids, mask, mode="none").logits, q(ids, mask, mode="none").logits
    assert (a - c).abs().max() < 0.05 * a.abs().max() + 1e-3
    assert (a.argmax(-1) == c.argmax(-1)).float().mean() >= 0.9


@pytest.mark.parametrize("mode", ["none", "hard"])
def test_int8_logits_close_to_fp32(mode):
    ids, mask = ragged_batch(tiny_hf("bert"), b=4, t=24)
    ref = _model()
    q = apply_quantization(_model(), "int8")
    with torch.inference_mode():
        a = ref(ids, mask, mode=mode)
        b = q(ids, mask, mode=mode)
    assert (a.logits - b.logits).abs().max() < 0.05 * a.logits.abs().max() + 1e-3
    if mode == "hard":  # pruning still removes tokens in the quantized model
        assert b.flops.sum() < q(ids, mask, mode="none").flops.sum()


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of none, int8"):
        apply_quantization(_model(), "int4")


def test_no_warning_or_log_noise_reaches_the_user():
    """Quantizing and running an int8 model prints nothing and warns nothing (torch.ao's quantized
    tensors warn that they are deprecated; torchao, imported by transformers when installed, logs
    GPU-extension failures): none of it may reach a user of ltp."""
    code = (
        "import warnings; warnings.simplefilter('always');"
        "import torch, transformers as tf; from ltp.quantize import quantize_int8;"
        "cfg = tf.BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64);"
        "m = tf.BertForSequenceClassification(cfg);"
        "quantize_int8(m)(torch.ones(1, 4, dtype=torch.long))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "" and out.stdout.strip() == ""


# --------------------------------------------------------------------------- the kernel chooser (fake clocks)


class _Exact(Int8Linear):
    """A fake backend's layer: fp32 arithmetic under an int8 name (correct by construction)."""

    def __init__(self, linear, name, wrong=False):
        super().__init__(linear)
        self.backend, self.wrong, self.lin = name, wrong, linear

    def _rows(self, rows):
        y = self.lin(rows)
        return torch.zeros_like(y) if self.wrong else y


def _fake(name, wrong=False):
    return Int8Backend(name, lambda lin: _Exact(lin, name, wrong))


def _clock(seconds: dict):
    """A timer that says each backend (fp32: a plain nn.Linear) takes a fixed time: no real timing."""
    return lambda module, x: seconds[getattr(module, "backend", "fp32")]


SHAPES = [(32, 64), (64, 32)]


def test_chooser_picks_the_faster_correct_backend():
    choice = choose_backend(SHAPES, [_fake("slow"), _fake("fast")], _clock({"fp32": 1.0, "slow": 0.8, "fast": 0.4}))
    assert choice.backend == "fast" and choice.speedup == pytest.approx(2.5)
    assert choice.candidates["slow"]["speedup"] == pytest.approx(1.25) and choice.candidates["slow"]["correct"]
    assert choice.shapes == [[32, 64], [64, 32]] and choice.threads == torch.get_num_threads()


def test_chooser_skips_a_fast_backend_with_wrong_answers():
    backends = [_fake("slow"), _fake("broken", wrong=True)]
    choice = choose_backend(SHAPES, backends, _clock({"fp32": 1.0, "slow": 0.5, "broken": 0.1}))
    assert choice.backend == "slow" and not choice.candidates["broken"]["correct"]
    with pytest.raises(QuantizationError, match="matches fp32"):
        choose_backend(SHAPES, [_fake("broken", wrong=True)], _clock({"fp32": 1.0, "broken": 0.1}))


def test_chooser_refuses_int8_when_none_beats_fp32():
    with pytest.raises(QuantizationError, match=r"int8 is refused on this CPU .*\(b\).* 0\.95x fp32's speed") as err:
        choose_backend(SHAPES, [_fake("a"), _fake("b")], _clock({"fp32": 1.0, "a": 1.2, "b": 1.05}))
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)  # one line, for the CLI


def test_quantize_uses_the_cached_choice_and_records_it(monkeypatch):
    """quantize_int8 times once per layer shapes and thread count (cached), and records the choice and CPU."""
    calls = []
    monkeypatch.setattr(q8, "BACKENDS", (_fake("slow"), _fake("fast")))
    monkeypatch.setattr(q8, "_CHOICES", {})
    monkeypatch.setattr(q8, "time_call", lambda m, x: calls.append(1) or
                        {"fp32": 1.0, "slow": 0.9, "fast": 0.5}[getattr(m, "backend", "fp32")])
    monkeypatch.delenv(q8.BACKEND_ENV, raising=False)
    m = quantize_int8(_model())
    assert int8_backend_of(m) == "fast" and calls
    n = len(calls)
    quantize_int8(_model())
    assert len(calls) == n  # the second model of the same shapes reuses the choice
    rec = int8_record(m)
    assert rec["int8_backend"] == "fast" and rec["int8_choice"]["speedup"] == pytest.approx(2.0)
    assert rec["cpu"]["capability"] == torch.backends.cpu.get_cpu_capability() and rec["cpu"]["model"]
    assert int8_record(_model()) == {}


def test_forced_backend_list_takes_the_first_correct_one(monkeypatch):
    monkeypatch.setattr(q8, "BACKENDS", (_fake("broken", wrong=True), _fake("ok")))
    monkeypatch.setattr(q8, "_CHOICES", {})
    monkeypatch.setenv(q8.BACKEND_ENV, "broken,ok")
    assert int8_backend_of(quantize_int8(_model())) == "ok"
    with pytest.raises(ValueError, match="Unknown int8 backend 'nope'"):
        quantize_int8(_model(), "nope")
