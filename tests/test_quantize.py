"""Int8 dynamic quantization: encoder linears swapped for int8 ones, answers kept, pruning still removes tokens."""

import subprocess
import sys

import pytest
import torch

from conftest import ragged_batch, tiny_hf
from ltp.model import LTPConfig, LTPForSequenceClassification
from ltp.quantize import Int8Linear, apply_quantization, quantization_of, quantized_linears


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
    assert isinstance(q, Int8Linear) and q.weight_int8.dtype == torch.int8
    assert not any(p.dtype == torch.float32 and p.dim() == 2 and p.shape == (q.out_features, q.in_features)
                   for p in q.parameters())  # no fp32 copy of the weight is kept


def test_int8_linear_matches_fp32_on_any_row_count():
    """One token, an odd count, a batch: the int8 GEMM's answer stays within 2% of fp32's."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(48, 40)
    q = Int8Linear(lin)
    for rows in (1, 7, 64):
        x = torch.randn(2, rows, 48)
        with torch.no_grad():
            ref, got = lin(x), q(x)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        assert (got - ref).abs().max() < 0.02 * ref.abs().max()


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
