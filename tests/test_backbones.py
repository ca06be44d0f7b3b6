"""The backbone seam: the adapter registry, its refusals, the MPNet bias gather, loading."""

import pytest
import torch

from conftest import ARCHS, MORE_ARCHS, tiny_hf
from ltp import backbones
from ltp.backbones import ADAPTERS, MPNetAdapter, adapter_for
from ltp.errors import CheckpointError
from ltp.model import LTPForSequenceClassification


def test_unsupported_encoder_is_refused_with_how_to_add_it():
    import transformers as tf

    cfg = tf.AlbertConfig(vocab_size=50, embedding_size=16, hidden_size=16, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=32)
    with pytest.raises(ValueError, match=r"'albert' is not supported.*distilbert.*register an adapter in ltp/backbones.py"):
        LTPForSequenceClassification(tf.AlbertForSequenceClassification(cfg))


def test_every_registered_type_has_a_tiny_model_test():
    from ltp.backbones import ADAPTERS

    assert set(ADAPTERS) == set(ARCHS + MORE_ARCHS)


def test_non_eager_attention_is_refused():
    hf = tiny_hf("distilbert")
    hf.config._attn_implementation = "sdpa"
    with pytest.raises(ValueError, match='attn_implementation="eager"'):
        LTPForSequenceClassification(hf)


@pytest.mark.parametrize("kind", ARCHS + MORE_ARCHS)
def test_each_registered_type_gets_its_adapter(kind):
    hf = tiny_hf(kind)
    adapter = adapter_for(hf)
    assert type(adapter) is ADAPTERS[hf.config.model_type]
    assert len(adapter.layers) == 3 and adapter.intermediate_size == 64  # TINY, whatever the config calls it


def test_mpnet_bias_follows_the_surviving_tokens():
    adapter = MPNetAdapter(tiny_hf("mpnet"))
    bias = torch.arange(2 * 4 * 5 * 5, dtype=torch.float32).reshape(2, 4, 5, 5)
    order = torch.tensor([[0, 2, 4], [0, 1, 3]])
    got = adapter.gather_bias(bias, order)
    for b in range(2):
        idx = order[b]
        torch.testing.assert_close(got[b], bias[b][:, idx][:, :, idx])


def test_a_classifier_needs_two_labels():
    with pytest.raises(CheckpointError, match="at least two labels"):
        backbones.load_classifier("unused", ["only"])


def test_file_sha256_is_cached_per_content_stamp(tmp_path):
    import hashlib

    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    assert backbones.file_sha256(f) == hashlib.sha256(b"weights").hexdigest()
    f.write_bytes(b"other weights!")  # another size: a new stamp, a new hash
    assert backbones.file_sha256(f) == hashlib.sha256(b"other weights!").hexdigest()


def test_imports_go_one_way_without_re_exports():
    """checkpoint -> hub and checkpoint -> model -> backbones, never back; each name from its home."""
    import ast
    from pathlib import Path

    from ltp import checkpoint, errors, model

    src = Path(__file__).resolve().parents[1] / "ltp"

    def ltp_imports(name: str) -> set[str]:
        tree = ast.parse((src / f"{name}.py").read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("ltp")}

    assert ltp_imports("hub") == {"ltp.errors"} and ltp_imports("backbones") == {"ltp.errors"}
    assert "ltp.checkpoint" not in ltp_imports("model")
    assert checkpoint.CheckpointError is backbones.CheckpointError is errors.CheckpointError
    for name in ("DEFAULT_BACKBONE", "CheckpointError", "file_sha256", "resolve_backbone", "build_model"):
        assert name not in checkpoint.__all__, name
    assert checkpoint.build_model is model.build_model  # used there, imported from its one home
