"""The pages' tables of stored results (metrics, short views, int8, per class, benchmark), with
human column names, their tooltips and number formats."""

from __future__ import annotations

import pandas as pd

from ltp.results import Evaluation, Results


# Page tables use human column names (their CSV downloads too); each name's meaning, shown as the
# column's tooltip, and number format: {column: (help, format)}.
COLUMN_HELP = {
    "Texts": ("Test texts the row was measured on.", "%d"),
    "Accuracy": ("Share of texts whose predicted class is the gold class.", "%.4f"),
    "Precision": ("Macro average over classes: of the texts predicted as a class, the share that are.", "%.4f"),
    "Recall": ("Macro average over classes: of the texts of a class, the share predicted as it.", "%.4f"),
    "F1": ("Macro F1: the mean over classes of the harmonic mean of precision and recall.", "%.4f"),
    "Input tokens": ("Mean word pieces per text before pruning, [CLS] and [SEP] included.", "%.1f"),
    "Tokens, last layer": ("Mean tokens still alive after the last layer ([CLS] alone when pruning is on).", "%.1f"),
    "FLOPs reduction": ("Unpruned FLOPs / pruned FLOPs (honest count: both run the last layer's feed-forward "
                        "block for [CLS] alone, the only token the classifier reads).", "%.2fx"),
    "FLOPs, all tokens": ("The first release's count: every token through every feed-forward block.", "%.2fx"),
    "Acc. pruning off": ("Accuracy of the same weights with pruning off.", "%.4f"),
    "Acc. pruning on": ("Accuracy with pruning on.", "%.4f"),
    "Drop (points)": ("Accuracy lost by pruning, in percentage points (pruning off minus on).", "%.2f"),
    "Support": ("Test texts of the class.", "%d"),
    "Examples/s": ("Throughput measured by `ltp bench` (median of its timed passes).", "%.1f"),
    "Speed-up": ("Examples/s of this row over fp32 with pruning off, both from `ltp bench`.", "%.2fx"),
    "Macro F1": ("The mean over classes of per-class F1.", "%.4f"),
}


def column_config(df: pd.DataFrame) -> dict[str, dict]:
    """Streamlit column settings (plain ``ColumnConfig`` dicts) for a page table's known columns:
    the meaning as a tooltip and a number format."""
    out = {}
    for column in df.columns:
        if column in COLUMN_HELP:
            help_text, fmt = COLUMN_HELP[column]
            numeric = pd.api.types.is_numeric_dtype(df[column])
            out[column] = {"help": help_text, **({"type_config": {"type": "number", "format": fmt}} if numeric else {})}
    return out


SCORE_LABELS = {"row": "Row", "text": "Text", "prediction_pruned": "Prediction (LTP)",
                "confidence_pruned": "Confidence (LTP)", "prediction_unpruned": "Prediction (pruning off)",
                "confidence_unpruned": "Confidence (pruning off)", "agree": "Same answer",
                "input_tokens": "Input tokens", "truncated": "Truncated", "flops_reduction": "FLOPs reduction"}


def score_column_config(columns) -> dict[str, dict]:
    """Header labels for the Score page's table, whose CSV keeps ``ltp.inference.score_texts``'s
    machine names for scripts (the page says so)."""
    out = {}
    for c in columns:
        label = SCORE_LABELS.get(c) or (f"Alive after layer {c.removeprefix('alive_after_layer_')}"
                                        if str(c).startswith("alive_after_layer_") else None)
        if label:
            out[c] = {"label": label, **({"width": "large"} if c == "text" else {})}
    return out


def metrics_table(results: Results, baseline: Evaluation | None = None, split: str = "test") -> pd.DataFrame:
    """One row per stored evaluation: the baseline, this model with pruning off, with pruning on.

    No examples/s: ``ltp evaluate`` times its pass on a busy machine, which is no benchmark; speed
    comes from ``ltp bench`` alone (``headline_speed``)."""
    pruned = results.pruned(split)
    runs = [("baseline (fine-tuned, no LTP)", baseline), ("this model, pruning off", results.unpruned(split)),
            (f"LTP ({pruned.mode} pruning)" if pruned else "", pruned)]
    rows = [{"Model": name, "Texts": r.examples, "Accuracy": r.accuracy, "Precision": r.precision_macro,
             "Recall": r.recall_macro, "F1": r.f1_macro, "Input tokens": r.mean_input_tokens,
             "Tokens, last layer": r.tokens_alive_per_layer[-1] if r.tokens_alive_per_layer else None,
             "FLOPs reduction": r.flops_reduction, "FLOPs, all tokens": r.flops_reduction_all_tokens}
            for name, r in runs if r is not None]
    return pd.DataFrame(rows, columns=["Model", "Texts", "Accuracy", "Precision", "Recall", "F1", "Input tokens",
                                       "Tokens, last layer", "FLOPs reduction", "FLOPs, all tokens"])


def short_views_table(result: Evaluation | None) -> pd.DataFrame:
    """The short-input views of one stored evaluation, one row per view."""
    rows = [{"Short view": v.title, "Texts": v.examples, "Input tokens": v.mean_input_tokens,
             "Acc. pruning off": v.accuracy_off, "Acc. pruning on": v.accuracy_on,
             "Drop (points)": v.drop_points, "FLOPs reduction": v.flops_reduction}
            for v in (result.views if result else ())]
    return pd.DataFrame(rows, columns=["Short view", "Texts", "Input tokens", "Acc. pruning off", "Acc. pruning on",
                                       "Drop (points)", "FLOPs reduction"])


def quantization_table(rows: list[dict]) -> pd.DataFrame:
    """fp32 / int8 x pruning off / on (``ltp.results.int8_rows``) for the Performance page;
    throughput and speed-up from ``ltp bench``."""
    names = {"weights": "Weights", "pruning": "Pruning", "accuracy": "Accuracy", "flops_reduction": "FLOPs reduction",
             "batch": "Batch", "throughput": "Examples/s", "speedup_vs_fp32_off": "Speed-up"}
    return pd.DataFrame(rows, columns=list(names)).rename(columns=names)


def per_class_table(result: Evaluation) -> pd.DataFrame:
    """Precision, recall, F1 and support per class of one evaluation."""
    rows = [{"Class": name, "Precision": v.get("precision"), "Recall": v.get("recall"), "F1": v.get("f1"),
             "Support": v.get("support")} for name, v in result.per_class.items()]
    return pd.DataFrame(rows, columns=["Class", "Precision", "Recall", "F1", "Support"])


def bench_table(entries) -> pd.DataFrame:
    """Measured speed of pruning off vs on, one row per complete ``BenchEntry`` (its CSV)."""
    rows = []
    for s in entries:
        if not s.complete:
            continue
        b = s.batch
        rows.append({
            "Device": s.device or s.key, "Threads": s.off.threads, "Batch": b,
            "Examples/s, pruning off": s.off.throughput.get(b), "Examples/s, LTP": s.on.throughput.get(b),
            "Throughput speed-up": s.speedup_throughput.get(b),
            "Latency off (ms)": s.off.latency_ms_median, "Latency LTP (ms)": s.on.latency_ms_median,
            "Latency speed-up": s.speedup_latency, "FLOPs reduction": s.flops_reduction,
            "FLOPs count": "honest" if s.flops_honest else "all tokens",
            "Share of FLOPs saving as time": s.flops_to_time.get(b),
        })
    return pd.DataFrame(rows, columns=["Device", "Threads", "Batch", "Examples/s, pruning off", "Examples/s, LTP",
                                       "Throughput speed-up", "Latency off (ms)", "Latency LTP (ms)",
                                       "Latency speed-up", "FLOPs reduction", "FLOPs count",
                                       "Share of FLOPs saving as time"])
