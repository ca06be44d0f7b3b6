"""Evaluate a checkpoint: classification metrics, tokens alive per layer, FLOPs and speed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support

from ltp.checkpoint import Checkpoint
from ltp.errors import CheckpointError
from ltp.files import merge_json
from ltp.flops import honest_ceiling
from ltp.inference import Predictions, predict
from ltp.text import encode


FLOPS_ACCOUNTING = ("honest: pruned and unpruned both run the last layer's FFN for [CLS] alone; "
                    "flops_reduction_all_tokens is the first release's ratio (every survivor through every FFN)")


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, label_names: list[str]) -> dict:
    """Accuracy, macro and per-class precision/recall/F1, report and confusion matrix."""
    labels = list(range(len(label_names)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    return {
        "accuracy": float((y_true == y_pred).mean()),
        "precision_macro": float(mp),
        "recall_macro": float(mr),
        "f1_macro": float(mf),
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "report": classification_report(y_true, y_pred, labels=labels, target_names=label_names,
                                        digits=4, zero_division=0),
    }


def pruning_metrics(pred: Predictions) -> dict:
    """Tokens alive per layer (mean), FLOPs reduction (ratio of totals) and throughput."""
    n = len(pred.lengths)
    return {
        "mean_input_tokens": float(pred.lengths.mean()),
        "tokens_alive_per_layer": [round(float(x), 3) for x in pred.tokens_alive.mean(0)],
        "fraction_alive_per_layer": [round(float(x), 4) for x in (pred.tokens_alive / pred.lengths[:, None]).mean(0)],
        "gflops_mean": float(pred.flops.mean() / 1e9),
        "gflops_unpruned_mean": float(pred.flops_unpruned.mean() / 1e9),
        "flops_reduction": float(pred.flops_unpruned.sum() / pred.flops.sum()),
        "flops_accounting": FLOPS_ACCOUNTING,
        "flops_reduction_all_tokens": (float(pred.flops_unpruned_all_tokens.sum() / pred.flops_all_tokens.sum())
                                       if pred.flops_all_tokens is not None else None),
        "examples_per_second": float(n / pred.seconds) if pred.seconds > 0 else None,
        "model_seconds": float(pred.seconds),
    }


def evaluation_examples(ckpt: Checkpoint, split: str, limit: int | None, data_dir: Path | None, seed: int = 0):
    """The data-set rows an evaluation uses: the whole split or a seeded stratified sample
    (the same for every model of a data set). `df.attrs["sample"]` describes which."""
    from ltp import data

    name = ckpt.config.get("dataset", {}).get("name")
    if not name:
        raise CheckpointError(f"{ckpt.path} does not record its data set; cannot evaluate it on a split.")
    names = data.load_label_names(name, data_dir)
    if list(names) != list(ckpt.label_names):
        raise CheckpointError(f"Label mismatch: checkpoint labels {ckpt.label_names}, data set {name} labels {names}.")
    if limit is not None and limit <= 0:
        raise data.DataError(f"--limit must be a positive number of examples, got {limit}.")
    df = data.load_sample(name, split, limit, seed, data_dir)  # reads only the sampled rows' texts
    rows = df.attrs["rows"]
    if rows == 0:
        raise data.DataError(f"The {split} split of {name} is empty; prepare the data set again.")
    df.attrs["sample"] = (f"stratified sample of {len(df)} of {rows} (seed {seed})" if len(df) < rows
                          else f"full split of {rows}")
    return df


def evaluate(
    ckpt: Checkpoint,
    split: str = "test",
    limit: int | None = None,
    mode: str | None = None,
    batch_size: int = 64,
    data_dir: Path | None = None,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    views: bool = True,
) -> dict:
    """Metrics of one checkpoint on one split in one pruning mode (default: its own).

    With `views`, a pruning mode's result also scores each text's short views (first
    sentence, first 12 words) with pruning off and on: result["views"]."""
    df = evaluation_examples(ckpt, split, limit, data_dir, seed)
    mode = mode or ckpt.model.mode
    enc = encode(ckpt.tokenizer, df["text"].tolist(), ckpt.max_length, ckpt.truncation)
    content = np.zeros(len(df), dtype=bool)  # a content token reaches the last layer

    def final_content(i, out, idx):
        last = torch.as_tensor(np.asarray([len(enc.input_ids[j]) - 1 for j in idx]))[:, None]
        pos = out.final_input_positions.cpu()
        content[idx] = (out.final_input_alive.cpu() & (pos > 0) & (pos < last)).any(1).numpy()

    pred = predict(ckpt.model, enc, ckpt.tokenizer.pad_token_id, batch_size=batch_size, mode=mode, progress=progress,
                   on_batch=final_content)
    from ltp.quantize import int8_record, quantization_of

    result = {
        "split": split,
        "mode": mode,
        "quantization": quantization_of(ckpt.model),
        "examples": len(df),
        "sample": df.attrs["sample"],
        "truncated_examples": int(sum(enc.truncated)),
        **classification_metrics(df["label"].to_numpy(), pred.predicted, ckpt.label_names),
        **pruning_metrics(pred),
        "content_to_last_layer": round(float(content.mean()), 4),
        **int8_record(ckpt.model),
    }
    if mode != "none":  # the most this configuration could save on these texts
        m = ckpt.model
        result["flops_ceiling"] = round(honest_ceiling(pred.lengths, m.num_layers, m.hidden_size, m.intermediate_size,
                                                       m.ltp_config.prune_first_layer, m.ltp_config.min_keep), 3)
    if views and mode != "none":
        result["views"] = short_view_metrics(ckpt, df, mode, batch_size)
    return result


def short_view_metrics(ckpt: Checkpoint, df, mode: str, batch_size: int = 64) -> dict:
    """Accuracy and FLOPs of each text's short views with pruning off and in `mode`.

    The views are the reader's text (entities decoded, tags gone: `ltp.text.display_text`),
    as a person would type it, not the raw data-set encoding.

    Returns {view: {"examples", "mean_input_tokens", "accuracy_off", "accuracy_on",
    "drop_points", "f1_off", "f1_on", "flops_reduction", "tokens_alive_per_layer"}}."""
    from ltp.text import SHORT_VIEWS, short_view

    y = df["label"].to_numpy()
    out = {}
    for view in SHORT_VIEWS:
        texts = [short_view(t, view) for t in df["text"]]
        keep = np.array([bool(t.strip()) for t in texts])
        texts = [t for t, k in zip(texts, keep) if k]
        enc = encode(ckpt.tokenizer, texts, ckpt.max_length, ckpt.truncation)
        res = {"mean_input_tokens": float(np.mean([len(x) for x in enc.input_ids]))}
        for name, m in (("off", "none"), ("on", mode)):
            pred = predict(ckpt.model, enc, ckpt.tokenizer.pad_token_id, batch_size=batch_size, mode=m)
            cm = classification_metrics(y[keep], pred.predicted, ckpt.label_names)
            res[f"accuracy_{name}"], res[f"f1_{name}"] = cm["accuracy"], cm["f1_macro"]
            if name == "on":
                res["flops_reduction"] = float(pred.flops_unpruned.sum() / pred.flops.sum())
                res["tokens_alive_per_layer"] = [round(float(x), 3) for x in pred.tokens_alive.mean(0)]
        res["examples"] = int(keep.sum())
        res["drop_points"] = 100 * (res["accuracy_off"] - res["accuracy_on"])
        out[view] = res
    return out


def store_metrics(ckpt_path: Path, result: dict, key: str | None = None) -> dict:
    """Merge one result into the checkpoint's metrics.json under "<split>/<mode>" (+"+int8")."""
    from ltp.results import METRICS, ResultKey

    key = key or str(ResultKey(result["split"], result["mode"], result.get("quantization", "none")))
    return merge_json(Path(ckpt_path) / METRICS, key, result)


def format_table(result: dict, label_names: list[str]) -> str:
    """A plain-text summary of one evaluation."""
    lines = [
        f"split={result['split']} mode={result['mode']}"
        f"{' int8' if result.get('quantization') == 'int8' else ''} examples={result['examples']} ({result['sample']})",
        f"accuracy {result['accuracy']:.4f}   precision {result['precision_macro']:.4f}   "
        f"recall {result['recall_macro']:.4f}   F1 {result['f1_macro']:.4f}   (macro)",
        "",
        result["report"],
        "confusion matrix (rows: gold, columns: predicted)",
        "  " + " ".join(f"{n[:10]:>10}" for n in label_names),
    ]
    for name, row in zip(label_names, result["confusion_matrix"]):
        lines.append(f"{name[:10]:>10} " + " ".join(f"{v:>10}" for v in row))
    lines += [
        "",
        f"mean input tokens {result['mean_input_tokens']:.1f}; tokens alive per layer: "
        + " -> ".join(f"{x:.1f}" for x in result["tokens_alive_per_layer"]),
        f"FLOPs per example {result['gflops_mean']:.3f} G (unpruned {result['gflops_unpruned_mean']:.3f} G): "
        f"reduction {result['flops_reduction']:.2f}x (honest: the last FFN runs for [CLS] alone"
        + (f"; {result['flops_reduction_all_tokens']:.2f}x counting every token" if result.get("flops_reduction_all_tokens") else "")
        + ")",
        f"speed {result['examples_per_second'] or 0:.1f} examples/s (model time {result['model_seconds']:.1f} s)",
    ]
    for view, v in result.get("views", {}).items():
        lines.append(f"short view {view.replace('_', ' ')} ({v['examples']} texts, {v['mean_input_tokens']:.1f} tokens): "
                     f"accuracy {v['accuracy_off']:.4f} pruning off, {v['accuracy_on']:.4f} on "
                     f"(drop {v['drop_points']:+.2f} points), FLOPs reduction {v['flops_reduction']:.2f}x")
    return "\n".join(lines)
