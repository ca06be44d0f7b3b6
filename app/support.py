"""The dashboard's own helpers: finding checkpoints for the picker, the sidebar's model card,
page tables (metrics, benchmark, sweep), hover snippets, progress maths, CSV export.

Nothing here imports Streamlit: each function takes plain data (paths, dicts, DataFrames) and
returns plain data, so the pages stay thin and these are unit-tested. Stored results are read
through ltp.results, a trace's forms come from ltp.trace. Pages import it as ``support`` (app/ is
on sys.path: ``streamlit run`` puts it there, Home.py does for AppTest).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ltp.checkpoint import find_checkpoint, read_config
from ltp.errors import CheckpointError
from ltp.results import SWEEP, BenchEntry, Evaluation, Results, load_results

MODELS_DIR_ENV = "LTP_MODELS_DIR"
DATA_DIR_ENV = "LTP_DATA_DIR"
PUBLIC_ENV = "LTP_PUBLIC_DEMO"  # 1: the public-demo mode (what the Docker image runs)
PUBLIC_MAX_CHARS = 2000  # the live page's text limit in the public demo
DEFAULT_SENTENCE = "This is the best restaurant, and I will be returning for another meal."
TRAIN_COMMAND = "ltp train --dataset ag_news --out models/ag_news"
SWEEP_COLUMNS = ("method", "label", "accuracy", "f1", "flops_reduction", "speedup")
SNIPPET_CHARS = 40  # context on each side of a word in the embedding map's hover
INTERACTIVE_THREADS = 1  # torch threads for one typed text (see torch_threads)


# --------------------------------------------------------------------------- locations


def models_dir(repo: Path) -> Path:
    """Where shipped checkpoints live: ``$LTP_MODELS_DIR`` if set, else ``<repo>/models``."""
    env = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path(repo) / "models"


def public_mode() -> bool:
    """The public-demo mode: no free path box, no server path on any page, bounded inputs and no
    heavy actions (``LTP_PUBLIC_DEMO=1``)."""
    return os.environ.get(PUBLIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def shown_path(path: str | Path, repo: Path, command: bool = False) -> str:
    """A path as a page shows it: relative to the repository when inside it
    (``models/ag_news-minilm-ltp``), else relative to the models folder; in a command to copy
    (``command``) a path outside the repository stays whole, except in the public demo, which
    shows no server path at all."""
    p = Path(path).expanduser().resolve()
    bases = [Path(repo).resolve()] + ([] if command and not public_mode() else [models_dir(repo).resolve()])
    for base in bases:
        try:
            return str(p.relative_to(base))
        except ValueError:
            continue
    return p.name if public_mode() else str(path)


def redact(message: str, repo: Path) -> str:
    """In the public demo, a message without the server's absolute folders (repository, models,
    data); elsewhere unchanged (the operator needs the paths to act on it)."""
    if not public_mode():
        return message
    for base, name in ((models_dir(repo), "models"), (data_dir(repo), "data"), (Path(repo), ".")):
        for form in {str(Path(base).resolve()), str(base)}:
            if form not in (".", ""):
                message = message.replace(form + "/", name + "/" if name != "." else "").replace(form, name)
    return message


def data_dir(repo: Path) -> Path:
    """Prepared data sets: ``$LTP_DATA_DIR`` if set, else ``<repo>/data`` (ltp.data's ./data
    when the app runs from the repository root)."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path(repo) / "data"


def prepare_hint(dataset: str, root: Path) -> str:
    """The command that prepares a data set into ``root`` (naming LTP_DATA_DIR only when ``root``
    is not where ltp would look by default from the working directory)."""
    from ltp.data import default_data_dir, prepare_command

    same = Path(root).resolve() == default_data_dir().resolve()
    return prepare_command(dataset, None if same else Path(root))


def dataset_prepared(dataset: str | None, root: Path, split: str = "test") -> bool:
    """True when ``root/<dataset>`` holds labels.json and the split's parquet file."""
    if not dataset:
        return False
    folder = Path(root) / dataset
    return (folder / "labels.json").is_file() and (folder / f"{split}.parquet").is_file()


def discover_checkpoints(root: Path) -> list[Path]:
    """Sorted subdirectories of ``root`` that are checkpoints (hold config.json) or training
    run dirs (a stage subdirectory holds one); empty when ``root`` does not exist."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            find_checkpoint(child)
        except CheckpointError:
            continue
        found.append(child)
    return found


def resolve_checkpoint(typed: str | None, chosen: Path | None, repo: Path) -> Path:
    """The checkpoint to show: a typed path (relative paths are tried against the working
    directory, then the repository) wins over the picked one. Raises CheckpointError."""
    typed = (typed or "").strip()
    if typed:
        path = Path(typed).expanduser()
        if not path.is_absolute() and not path.exists() and (Path(repo) / path).exists():
            path = Path(repo) / path
        return find_checkpoint(path)
    if chosen is None:
        raise CheckpointError(f"No checkpoint found. Make one with `{TRAIN_COMMAND}` (or copy a checkpoint "
                              f"directory into models/), or type a checkpoint or run directory in the sidebar.")
    return find_checkpoint(chosen)


def stamp(path: Path) -> float:
    """A cache key that changes when a file is rewritten (its mtime; 0.0 when missing)."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


# --------------------------------------------------------------------------- model card


def layer_thresholds(config: dict) -> list[float | None]:
    """Per layer 1..L the pruning threshold, None for layer 1 unless the model prunes from it."""
    first = bool(config.get("ltp", {}).get("prune_first_layer", False))
    return [None if i == 0 and not first else float(t) for i, t in enumerate(config.get("thresholds", []))]


def model_card(path: Path) -> dict:
    """A short summary of a checkpoint for the sidebar: data set, backbone, layers,
    thresholds, mode, accuracy (when metrics.json has it)."""
    path = find_checkpoint(path)
    config = read_config(path)
    backbone = config.get("backbone", {})
    data = config.get("dataset") or {}
    results = load_results(path, damaged_as_missing=True)  # a damaged file does not break the sidebar
    mode, result = results.own_mode, results.headline()
    return {
        "path": str(path),
        "stage": config.get("stage"),
        "dataset": data.get("name"),
        "dataset_description": data.get("description"),
        "labels": list(config.get("labels", [])),
        "backbone": backbone.get("spec"),
        "model_type": backbone.get("model_type"),
        "num_layers": backbone.get("num_layers"),
        "hidden_size": backbone.get("hidden_size"),
        "max_length": config.get("max_length"),
        "truncation": config.get("truncation", "head"),
        "mode": mode,
        "thresholds": layer_thresholds(config),
        "accuracy": result and result.accuracy,
        "f1_macro": result and result.f1_macro,
        "flops_reduction": result.flops if result and result.mode == results.pruning else None,
        "evaluated_on": f"{result.key}, {result.sample}" if result else None,
    }


def model_card_markdown(card: dict) -> str:
    """The model card as a few markdown lines (values escaped for markdown)."""
    thr = ", ".join("–" if t is None else f"{t:.4f}" for t in card["thresholds"])
    lines = [
        f"**Data set** {_md(card['dataset'] or 'n/a')} ({len(card['labels'])} classes)",
        f"**Backbone** `{card['backbone']}` ({_md(card['model_type'])}, {card['num_layers']} layers, "
        f"{card['hidden_size']} wide)",
        f"**Stage / mode** {_md(card['stage'])} / {_md(card['mode'])}; max length {card['max_length']}",
        f"**Thresholds** {thr}" + (" (– or ≤ 0: the layer never prunes)" if any(t is None or t <= 0
                                                                                for t in card["thresholds"]) else ""),
    ]
    if card["accuracy"] is not None:
        extra = f", {card['flops_reduction']:.2f}x fewer FLOPs" if card["flops_reduction"] else ""
        lines.append(f"**Accuracy** {card['accuracy']:.4f} (F1 {card['f1_macro']:.4f}{extra}; "
                     f"{_md(card['evaluated_on'])})")
    else:
        lines.append(f"**Accuracy** not measured: `ltp evaluate --checkpoint {card['path']} --mode both`")
    return "  \n".join(lines)


def _md(value) -> str:
    """Text safe inside markdown (no emphasis, links or HTML from data)."""
    text = str(value)
    for ch in "\\`*_{}[]<>()#+!|~":
        text = text.replace(ch, "\\" + ch)
    return text


escape_md = _md  # for pages


# --------------------------------------------------------------------------- text and threads


_CONTROL = {c: 0x2400 + c for c in range(0x20) if chr(c) not in "\t\n\r"} | {0x7F: 0x2421}


def printable(text: str) -> str:
    """Control characters shown as their Unicode control pictures (U+2400...), one character
    for one, so token offsets into the text stay valid."""
    return text.translate(_CONTROL)


@contextlib.contextmanager
def torch_threads(n: int = INTERACTIVE_THREADS):
    """Run a block with ``n`` intra-op torch threads, then restore the previous number.

    One text of at most a few hundred tokens gains little from intra-op threads, and on a busy
    CPU OpenMP's spinning threads make it far slower: MiniLM on 52 tokens took a median 580 ms
    with 2 threads but 11.5 ms with 1 on a 2-core machine shared with a training job. Callers
    hold the model lock, so no other model call sees the change.
    """
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


# --------------------------------------------------------------------------- performance


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


def headline_speed(results: Results) -> dict | None:
    """The speed-up a page leads with (``Results.speed``: the stored ``ltp bench``'s "cpu" entry as
    ``ltp report`` reads it, else the first complete one), with where it came from. None when
    nothing is measured."""
    s = results.speed
    if s is None:
        return None
    return {"key": s.key, "speedup": s.speedup_throughput[s.batch], "batch": s.batch,
            "latency_speedup": s.speedup_latency, "source": bench_source(s)}


def bench_source(entry: BenchEntry) -> str:
    """Where a stored speed came from, in one line: command, device, threads, batch, texts, date."""
    threads = entry.off.threads if entry.off else None
    texts = entry.off.examples if entry.off else None
    parts = ["`ltp bench`", str(entry.device or "device not recorded"),
             f"{threads} threads" if threads else "threads not recorded",
             f"batch {entry.batch}" if entry.batch else None,
             f"{texts:,} {entry.config.get('split') or 'test'} texts" if texts else None,
             entry.measured_at or "date not recorded"]
    return " · ".join(p for p in parts if p)


def time_vs_flops(results: Results) -> dict | None:
    """How the measured speed-up compares with the FLOPs reduction, both as ``ltp report`` shows them:
    {speedup, flops_reduction, flops_count, ratio, verdict ("less than", "about as much as", "more
    than"), source, sample}; None when either is not stored."""
    speed, result = headline_speed(results), results.pruned()
    if not speed or not result or not result.flops or not speed["speedup"]:
        return None
    ratio = speed["speedup"] / result.flops
    verdict = "less than" if ratio < 0.95 else "more than" if ratio > 1.05 else "about as much as"
    return {"speedup": speed["speedup"], "batch": speed["batch"], "flops_reduction": result.flops,
            "flops_count": result.flops_count, "ratio": ratio, "verdict": verdict,
            "source": speed["source"], "sample": result.sample}


def time_vs_flops_sentence(found: dict, name: str) -> str:
    """``time_vs_flops`` as a sentence for the About page."""
    return (f"For **{_md(name)}**, `ltp bench` measured **{found['speedup']:.2f}x** the examples/s of pruning off "
            f"(batch {found['batch']}) for **{found['flops_reduction']:.2f}x** fewer FLOPs ({found['flops_count']} "
            f"count, `ltp evaluate` on the {_md(found['sample'] or 'test split')}): measured time shrank "
            f"**{found['verdict']}** FLOPs. Speed from {found['source']}.")


def sweep_points(results: Results) -> pd.DataFrame | None:
    """The accuracy-vs-FLOPs points of a checkpoint's sweep.json (None when it has none), one row
    per point. Raises ValueError when the points lack the expected fields."""
    path = Path(results.path or ".") / SWEEP
    if results.sweep is None:
        return None
    points = results.sweep.points
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
        raise ValueError(f"{path} must hold a non-empty list of points ({', '.join(SWEEP_COLUMNS)}).")
    df = pd.DataFrame(points)
    missing = [c for c in ("method", "label", "accuracy", "flops_reduction") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks field(s) {missing}; each point needs {', '.join(SWEEP_COLUMNS)}.")
    extra = [c for c in df.columns if c not in SWEEP_COLUMNS and not isinstance(df[c].iloc[0], (list, dict))]
    if "checkpoint" in df:  # the sweep's run folders: their names tell the runs apart, the server path nothing
        df["checkpoint"] = df["checkpoint"].map(lambda c: "/".join(Path(c).parts[-3:]) if isinstance(c, str) else c)
    return df.reindex(columns=[*SWEEP_COLUMNS, *extra])


def sweep_flops_count(points: pd.DataFrame) -> str:
    """Which FLOPs count a sweep's points use: "honest" (a newer sweep, which stores the all-tokens
    count beside it) or "all-tokens" (an older one)."""
    col = points.get("flops_reduction_all_tokens")
    return "honest" if col is not None and col.notna().any() else "all-tokens"


def sweep_table(points: pd.DataFrame) -> pd.DataFrame:
    """The sweep's points for a page: human names, no speed-up (a sweep times each point in its own
    evaluation pass on a busy machine, which is no benchmark; speed comes from ``ltp bench``)."""
    names = {"method": "Method", "label": "Point", "accuracy": "Accuracy", "f1": "Macro F1",
             "flops_reduction": f"FLOPs reduction ({sweep_flops_count(points)})", "examples": "Texts",
             "checkpoint": "Run"}
    return points.reindex(columns=[c for c in names if c in points.columns]).rename(columns=names)


def shipped_point(results: Results, points: pd.DataFrame, name: str) -> dict | None:
    """The checkpoint itself as a point of its trade-off chart: its pruned accuracy and its FLOPs
    reduction in the sweep's own count (``sweep_flops_count``), so the star and the lines compare;
    None when no pruned result is stored."""
    result = results.pruned()
    if not result or result.accuracy is None:
        return None
    honest, all_tokens = result.flops_reduction, result.flops_reduction_all_tokens
    count = sweep_flops_count(points)
    flops = (honest if count == "honest" else all_tokens) or honest or all_tokens
    if not flops:
        return None
    swept = points["examples"].dropna() if "examples" in points else pd.Series(dtype=float)
    note = (f"accuracy on the {result.sample or 'test split'}"
            + (f"; the sweep's points on {int(swept.iloc[0]):,} texts" if len(swept) else "")
            + f"; FLOPs in the sweep's {count} count")
    return {"accuracy": float(result.accuracy), "flops_reduction": float(flops), "label": name, "note": note,
            "flops_count": count}


def sweep_command(ckpt: Path, dataset: str | None) -> str:
    """The command that stores a trade-off sweep beside a checkpoint."""
    return (f"ltp sweep --dataset {dataset or 'NAME'} --baseline BASELINE_CHECKPOINT --out runs/sweep "
            f"--store-in {ckpt}")


# --------------------------------------------------------------------------- bundle views


def with_names(df: pd.DataFrame, label_names: list[str]) -> pd.DataFrame:
    """Adds gold_class / predicted_class names and a "correctness" column (correct / wrong)."""
    names = np.asarray([str(n) for n in label_names], dtype=object)
    out = df.copy()
    out["gold_class"] = names[out["gold"].to_numpy().astype(int)]
    out["predicted_class"] = names[out["pred"].to_numpy().astype(int)]
    out["correctness"] = np.where(out["correct"].to_numpy().astype(bool), "correct", "wrong")
    return out


def context_snippets(points: pd.DataFrame, words: pd.DataFrame, texts: pd.Series,
                     width: int = SNIPPET_CHARS) -> pd.Series:
    """Per point (example_id, word_index) the text around its word: ``width`` characters each
    side, the word in «», whitespace collapsed. Unescaped (the chart escapes hover text);
    "" where the example or word is unknown."""
    spans = words.set_index(["example_id", "word_index"])[["start", "end"]]
    keys = pd.MultiIndex.from_arrays([points["example_id"].to_numpy(), points["word_index"].to_numpy()])
    found = spans.reindex(keys)
    out = []
    for ex_id, start, end in zip(points["example_id"].to_numpy(), found["start"].to_numpy(), found["end"].to_numpy()):
        text = texts.get(int(ex_id)) if not pd.isna(start) else None
        if not isinstance(text, str):
            out.append("")
            continue
        s, e = int(start), int(end)
        left = text[max(0, s - width):s]
        right = text[e:e + width]
        snippet = (("…" if s > width else "") + left + "«" + text[s:e] + "»" + right
                   + ("…" if e + width < len(text) else ""))
        out.append(" ".join(printable(snippet).split()))
    return pd.Series(out, index=points.index, name="context", dtype=object)


def text_previews(ids: pd.Series, texts: pd.Series, chars: int = 2 * SNIPPET_CHARS) -> pd.Series:
    """The first characters of each example's text (unescaped), "" where unknown."""
    out = []
    for ex_id in ids.to_numpy():
        text = texts.get(int(ex_id))
        out.append("" if not isinstance(text, str) else
                   " ".join(printable(text[:chars]).split()) + ("…" if len(text) > chars else ""))
    return pd.Series(out, index=ids.index, name="text", dtype=object)


PROGRESS_SPANS = {"model": (0.0, 0.4), "spacy": (0.4, 0.85), "t-SNE (tokens)": (0.85, 0.95),
                  "t-SNE (examples)": (0.95, 1.0)}


def progress_fraction(phase: str, done: int, total: int) -> float:
    """Overall progress in 0..1 of ``build_bundle`` from its (phase, done, total) callback."""
    lo, hi = PROGRESS_SPANS.get(phase, (0.0, 1.0))
    share = done / total if total else 1.0
    return float(min(1.0, max(0.0, lo + (hi - lo) * min(1.0, max(0.0, share)))))


def file_slug(*parts: object) -> str:
    """A download's file name from its parts ("retained words", "Sci/Tech", "layer 5" ->
    "retained-words_Sci-Tech_layer-5"): letters, digits, "-" and "_" only."""
    import re

    words = [re.sub(r"[^0-9A-Za-z]+", "-", str(p)).strip("-") for p in parts]
    return "_".join(w for w in words if w) or "table"


def with_filters(df: pd.DataFrame, filters: dict) -> pd.DataFrame:
    """A table for download with the filters that made it as leading constant columns, so a CSV
    says where it came from on its own."""
    out = df.copy()
    for i, (name, value) in enumerate(filters.items()):
        out.insert(i, name, value)
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV bytes (no index), for a download button."""
    return df.to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------- live page: examples and what-if
# (issue 12; used by views/prune.py)

import re  # noqa: E402  (this section's own import)

EXAMPLE_LABEL_WORDS = 7  # an example's button shows its first words


def live_examples(path: Path) -> tuple[list[dict], str | None]:
    """The examples a checkpoint opens the live page on (``examples.json``, display-clean), or one
    generic sentence when it stores none; and a warning when its file is malformed (the fallback
    is used then)."""
    from ltp.export import read_examples

    try:
        found = read_examples(path)
    except ValueError as err:
        return [{"text": DEFAULT_SENTENCE, "label": None}], str(err)
    return (found or [{"text": DEFAULT_SENTENCE, "label": None}]), None


def example_label(example: dict, words: int = EXAMPLE_LABEL_WORDS) -> str:
    """A short button label for an example: its first words (… when cut), and its class if known."""
    parts = example["text"].split()
    head = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    return f"{head} ({example['label']})" if example.get("label") else head


_DETACHED_CLITIC = re.compile(r"(?<=\w) '(s|t|re|ve|ll|d|m)\b")  # AG News' "Apple #39;s" is "Apple 's" once decoded


def reader_text(raw: str) -> str:
    """A data set's text as a reader sees it: ``ltp.text.display_text`` (entities decoded, tags and
    <br /> blanked, white space folded), and a contraction whose '&' was lost in AG News joined
    again ("Apple 's" -> "Apple's")."""
    from ltp.text import display_text

    return _DETACHED_CLITIC.sub(r"'\1", display_text(raw))


def fit_text(text: str, limit: int | None) -> tuple[str, bool]:
    """``text`` cut at the last space before ``limit`` characters (None: no limit), and whether it was cut
    (a random test review can be longer than the public demo's text box allows)."""
    if limit is None or len(text) <= limit:
        return text, False
    cut = text[:limit]
    return (cut[:cut.rfind(" ")] if " " in cut else cut).rstrip(), True


def scaled_thresholds(learned: list[float], strength: float, first_layer_prunes: bool = False) -> list[float]:
    """The what-if thresholds of a pruning strength: every learned threshold times ``strength``
    (1: the learned ones; 0: no pruning; a threshold below 0 stays below 0, so its layer still
    never prunes). Entry 0 (layer 1) stays as learned unless the model prunes from layer 1."""
    first = 0 if first_layer_prunes else 1
    return learned[:first] + [round(float(t) * strength, 6) for t in learned[first:]]
