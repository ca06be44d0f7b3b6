"""Checkpoints: round trip, atomic saves, and a clear message for every broken case."""

import json
import shutil

import pytest
import torch

from ltp import checkpoint as ck
from ltp.backbones import backbone_sha256
from ltp.checkpoint import load_checkpoint, save_checkpoint
from ltp.errors import CheckpointError
from ltp.model import LTPConfig, build_model

LABELS = ["a", "b", "c"]


@pytest.fixture()
def model(tiny_backbone):
    m = build_model(str(tiny_backbone), LABELS, LTPConfig(mode="hard", n_ref=32), seed=3)
    with torch.no_grad():
        m.threshold_offsets.copy_(torch.tensor([0.0, 0.01, 0.02]))
    frozen = m.freeze_word_embeddings()
    return m.eval(), frozen


def save(m, frozen, path, backbone, **kw):
    return save_checkpoint(m, path, backbone=str(backbone), label_names=LABELS, max_length=32,
                           stage="hard", frozen=frozen, dataset={"name": "toy"}, **kw)


def logits(m, ids):
    with torch.no_grad():
        return m(ids, torch.ones_like(ids)).logits


IDS = torch.tensor([[101, 2023, 2003, 1037, 3231, 6251, 2007, 2070, 2616, 102]])


def test_round_trip_identical_logits(model, tiny_backbone, tmp_path):
    m, frozen = model
    path = save(m, frozen, tmp_path / "ck", tiny_backbone)
    files = sorted(p.name for p in path.iterdir())
    assert files == ["README.md", "config.json", "model.safetensors"]
    loaded = load_checkpoint(path)
    assert torch.equal(logits(loaded.model, IDS), logits(m, IDS))
    assert loaded.model.mode == "hard" and loaded.label_names == LABELS
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["backbone"]["sha256"] == backbone_sha256(str(tiny_backbone))
    assert cfg["thresholds"][1] == pytest.approx(0.01 + 0.01 * 128 / 32 / 3, abs=1e-6)
    assert "hf.bert.embeddings.word_embeddings.weight" in cfg["frozen_parameters"]
    # frozen word embeddings are not stored
    from safetensors.torch import load_file

    assert "hf.bert.embeddings.word_embeddings.weight" not in load_file(str(path / "model.safetensors"))


def test_distilbert_round_trip_identical_logits(tiny_distilbert_backbone, tmp_path):
    m = build_model(str(tiny_distilbert_backbone), LABELS, LTPConfig(mode="hard", n_ref=32), seed=3).eval()
    with torch.no_grad():
        m.threshold_offsets.copy_(torch.tensor([0.0, 0.01, 0.02]))
    frozen = m.freeze_word_embeddings()
    assert frozen == ["hf.distilbert.embeddings.word_embeddings.weight"]
    path = save(m, frozen, tmp_path / "ck", tiny_distilbert_backbone)
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["backbone"]["model_type"] == "distilbert" and cfg["backbone"]["intermediate_size"] == 64
    loaded = load_checkpoint(path)
    assert torch.equal(logits(loaded.model, IDS), logits(m, IDS))
    assert loaded.model.mode == "hard" and loaded.tokenizer("a test")["input_ids"][0] == 101


def test_float16_storage_is_close(model, tiny_backbone, tmp_path):
    m, frozen = model
    path = save(m, frozen, tmp_path / "ck16", tiny_backbone, dtype="float16")
    loaded = load_checkpoint(path)
    torch.testing.assert_close(logits(loaded.model, IDS), logits(m, IDS), atol=1e-2, rtol=0)
    torch.testing.assert_close(loaded.model.thresholds(), m.thresholds())  # thresholds stay float32


def test_run_dir_resolves_to_latest_stage(model, tiny_backbone, tmp_path):
    m, frozen = model
    save(m, frozen, tmp_path / "run" / "hard", tiny_backbone)
    assert ck.find_checkpoint(tmp_path / "run") == tmp_path / "run" / "hard"


@pytest.fixture()
def saved(model, tiny_backbone, tmp_path):
    m, frozen = model
    return save(m, frozen, tmp_path / "ck", tiny_backbone)


def test_missing_path(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")


def test_directory_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not an ltp-lens checkpoint"):
        load_checkpoint(tmp_path / "empty")


def test_foreign_config(tiny_backbone):
    with pytest.raises(CheckpointError, match="foreign"):
        load_checkpoint(tiny_backbone)  # a Hugging Face model dir is a backbone, not a checkpoint


def test_corrupt_config(saved):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(saved)


def test_missing_weights(saved):
    (saved / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_checkpoint(saved)


def test_corrupt_weights(saved):
    (saved / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(saved)


def test_backbone_mismatch(saved):
    cfg = json.loads((saved / "config.json").read_text())
    cfg["backbone"]["sha256"] = "0" * 64
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="Backbone mismatch"):
        load_checkpoint(saved)


def test_label_mismatch(saved):
    cfg = json.loads((saved / "config.json").read_text())
    cfg["labels"] = ["a", "b"]
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="Label/shape mismatch"):
        load_checkpoint(saved)


def test_foreign_tensor_names(saved):
    from safetensors.torch import save_file

    save_file({"something.else": torch.zeros(2)}, str(saved / "model.safetensors"))
    with pytest.raises(CheckpointError, match="does not match the model"):
        load_checkpoint(saved)


def test_interrupted_save_leaves_nothing_valid(model, tiny_backbone, tmp_path, monkeypatch):
    m, frozen = model

    def boom(*a, **k):
        raise KeyboardInterrupt  # as if Ctrl-C arrived while the weights were written

    monkeypatch.setattr(ck, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        save(m, frozen, tmp_path / "ck", tiny_backbone)
    assert not (tmp_path / "ck").exists()
    assert list(tmp_path.iterdir()) == []  # no temp leftovers either


def test_interrupted_overwrite_keeps_old_checkpoint(saved, model, tiny_backbone, monkeypatch):
    m, frozen = model
    before = (saved / "model.safetensors").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ck, "write_json_atomic", boom)
    with pytest.raises(OSError):
        save(m, frozen, saved, tiny_backbone)
    assert (saved / "model.safetensors").read_bytes() == before
    load_checkpoint(saved)  # still valid
    assert [p.name for p in saved.parent.iterdir()] == ["ck"]


def test_missing_backbone_is_explained(saved, tmp_path):
    cfg = json.loads((saved / "config.json").read_text())
    cfg["backbone"]["spec"] = str(tmp_path / "gone")
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="not available locally"):
        load_checkpoint(saved)


def test_backbone_override(saved, tiny_backbone, tmp_path):
    moved = tmp_path / "moved-backbone"
    shutil.copytree(tiny_backbone, moved)
    cfg = json.loads((saved / "config.json").read_text())
    cfg["backbone"]["spec"] = str(tmp_path / "gone")
    (saved / "config.json").write_text(json.dumps(cfg))
    assert load_checkpoint(saved, backbone=str(moved)).model.mode == "hard"


def test_incomplete_config_is_explained(saved):
    cfg = json.loads((saved / "config.json").read_text())
    del cfg["labels"]
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="incomplete .*labels"):
        load_checkpoint(saved)
