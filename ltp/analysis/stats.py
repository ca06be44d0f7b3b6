"""Word-level statistics of what LTP keeps and prunes: frequencies, POS, categories, tests.

Every function is pure: it takes the analysis bundle's tables (``examples``, ``words``) as
pandas DataFrames and returns a DataFrame or a JSON-ready dict. Layers are numbered 1..L and
layer 1 never prunes. A word is *alive* (retained) at layer ``l`` iff ``depth >= l`` and
*pruned* by layer ``l`` iff ``depth < l``. It *reaches the last layer* (``kept_last``) iff
``depth >= L - 1``: alive after layer L-1, so the final layer attends over it. (The last layer's
own pruning only skips feed-forward blocks whose outputs nothing reads — the classifier reads
[CLS] alone — so nearly every token is dropped there at no cost; ``depth == L`` says nothing.)

Where a function needs L but is not given it, L is read from ``words.attrs["num_layers"]``
(load_bundle sets it); pass ``num_layers=`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

ALL = "all"  # class / one-vs-rest cell value meaning "no filter"
CELLS = ("TP", "FP", "FN", "TN")  # one-vs-rest confusion cells of an example with respect to one class
STATUSES = ("retained", "pruned")  # alive at the layer / pruned by the layer
# Word categories in priority order: a word gets the first that applies (see category_of).
CATEGORIES = ("entity", "domain term", "stopword", "adjective", "punctuation", "number", "other")
MIN_EXPECTED = 5  # Fisher's exact test replaces chi-square when any expected count is below this
# spaCy's universal POS tags spelled out for readers (https://universaldependencies.org/u/pos/).
POS_NAMES = {"ADJ": "adjective", "ADP": "preposition", "ADV": "adverb", "AUX": "auxiliary verb",
             "CCONJ": "coordinating conjunction", "DET": "determiner", "INTJ": "interjection", "NOUN": "noun",
             "NUM": "number", "PART": "particle", "PRON": "pronoun", "PROPN": "proper noun", "PUNCT": "punctuation",
             "SCONJ": "subordinating conjunction", "SYM": "symbol", "VERB": "verb", "X": "other", "SPACE": "space"}
# The same tags by family, in reading order (charts group and colour them so).
POS_FAMILIES = {"nouns and names": ("NOUN", "PROPN"), "verbs": ("VERB", "AUX"),
                "adjectives and adverbs": ("ADJ", "ADV"),
                "function words": ("ADP", "DET", "PRON", "CCONJ", "SCONJ", "PART"),
                "numbers, symbols and the rest": ("NUM", "PUNCT", "SYM", "INTJ", "X", "SPACE")}
POS_ORDER = tuple(tag for tags in POS_FAMILIES.values() for tag in tags)
# Clitics split off a word: "it's" -> "it" + "'s"; AG News writes "Association ' s", so "s" after an
# apostrophe word is one too. Alone they say nothing about a class.
CLITICS = frozenset({"'s", "'re", "'ve", "'ll", "'d", "'m", "n't", "’s", "’re", "’ve", "’ll", "’d", "’m", "n’t"})
CLITIC_TAILS = frozenset({"s", "t", "re", "ve", "ll", "d", "m"})  # clitics when they follow an apostrophe word
APOSTROPHES = frozenset({"'", "’", "`", "´"})
# News-agency and outlet names that news texts carry as a source tag: "( AP ) -", "Reuters -". They
# count as source tags only there (in parentheses or before a dash), not in "told Reuters".
NEWS_SOURCES = frozenset({"ap", "afp", "reuters", "upi", "cp", "dpa", "xinhua", "xinhuanet", "ips", "ians", "pti",
                          "bloomberg", "newsfactor", "computerworld", "infoworld", "maccentral", "techweb",
                          "cbs.mw", "ziff", "spaceref"})
WEB_SUFFIXES = (".com", ".net", ".org", ".mw", ".co.uk")  # "(washingtonpost.com)", "(ft.com)": outlets too
DASHES = frozenset({"-", "--", "—", "–"})

_CATEGORY_COLUMNS = ("ent_type", "domain_class", "is_stop", "pos", "is_punct", "is_num")


# --------------------------------------------------------------------------- validation


def _require_columns(df: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    """Raise a ValueError naming the missing columns of one bundle table."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"`{table}` must be a pandas DataFrame (the bundle's {table} table), "
                         f"got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"The {table} table lacks column(s) {missing}; pass the {table} table of an "
                         f"analysis bundle (ltp.analysis.bundle), which has them.")


def _is_int(value: object) -> bool:
    """True for Python/NumPy integers, False for bools (which are ints to Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_num_layers(num_layers: object) -> int:
    """The model's number of layers as a positive int."""
    if not _is_int(num_layers) or int(num_layers) < 1:
        raise ValueError(f"num_layers must be a positive int (the model's number of layers), got {num_layers!r}.")
    return int(num_layers)


def _check_layer(layer: object, num_layers: int | None) -> int:
    """A layer number inside 1..L (only the lower bound is checked when L is unknown)."""
    upper = num_layers if num_layers is not None else math.inf
    if not _is_int(layer) or not 1 <= int(layer) <= upper:
        span = f"1..{num_layers}" if num_layers is not None else "1..L"
        raise ValueError(f"layer must be an int in {span} (layers are numbered from 1), got {layer!r}.")
    return int(layer)


def _check_depths(words: pd.DataFrame, num_layers: int) -> None:
    """Every word depth must lie in 1..L, else the words belong to another model."""
    if len(words) and (words["depth"].min() < 1 or words["depth"].max() > num_layers):
        raise ValueError(f"words.depth ranges {int(words['depth'].min())}..{int(words['depth'].max())} but "
                         f"num_layers is {num_layers}; pass the number of layers of the model that made these words.")


def _infer_num_layers(words: pd.DataFrame, num_layers: int | None) -> int | None:
    """L from the argument, ``words.attrs["num_layers"]`` or the kept_last words; None if unknown."""
    if num_layers is not None:
        return _check_num_layers(num_layers)
    if "num_layers" in words.attrs:
        return _check_num_layers(words.attrs["num_layers"])
    return None


def last_reached_layer(num_layers: int) -> int:
    """The depth a word needs to reach the last layer: L - 1 (layer 1 for a 1-layer model)."""
    return max(int(num_layers) - 1, 1)


def _known_layers(words: pd.DataFrame, num_layers: int | None) -> int:
    """L, raising a helpful error when it cannot be told from the words."""
    found = _infer_num_layers(words, num_layers)
    if found is None:
        raise ValueError("Cannot tell the number of layers from these words (no word is flagged kept_last); "
                         "pass num_layers=<the model's number of layers>.")
    _check_depths(words, found)
    return found


def _check_class(class_id: object, frame: pd.DataFrame) -> int:
    """A class index known to ``frame`` (from its prob_* columns, else from its gold/pred labels)."""
    if not _is_int(class_id) or int(class_id) < 0:
        raise ValueError(f"class_id must be a non-negative int class index, got {class_id!r}.")
    n_probs = sum(str(c).startswith("prob_") for c in frame.columns)
    known = range(n_probs) if n_probs else sorted(set(frame["gold"].tolist()) | set(frame["pred"].tolist()))
    if int(class_id) not in known:
        raise ValueError(f"class_id {class_id} is unknown: the classes here are {list(known)}; "
                         f"pick one of them (an index into label_names).")
    return int(class_id)


def _normalise_cell(cell: object) -> str:
    """'TP'/'FP'/'FN'/'TN' (any case) or 'all'."""
    text = str(cell).strip() if isinstance(cell, str) else ""
    if text.lower() == ALL:
        return ALL
    if text.upper() not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)} or 'all', got {cell!r}.")
    return text.upper()


def _check_label_names(label_names: object) -> list[str]:
    """A non-empty list of class names."""
    if isinstance(label_names, str) or not isinstance(label_names, Sequence) or not label_names:
        raise ValueError("label_names must be a non-empty list of class names, e.g. ['negative', 'positive'].")
    return [str(n) for n in label_names]


# --------------------------------------------------------------------------- categories and selection


def category_of(words: pd.DataFrame) -> pd.Series:
    """One category per word, for retention by word type.

    Priority (the first rule that applies wins): "entity" (``ent_type`` not empty), "domain term"
    (``domain_class >= 0``), "stopword" (``is_stop``), "adjective" (``pos == "ADJ"``),
    "punctuation" (``is_punct``), "number" (``is_num``), else "other". So a stop word that is also
    a domain term counts as a domain term, and a named entity is never a stopword.

    Returns:
        A str Series named "category", aligned with ``words.index``.
    """
    _require_columns(words, _CATEGORY_COLUMNS, "words")
    conditions = [
        words["ent_type"].fillna("").astype(str).to_numpy() != "",
        words["domain_class"].to_numpy() >= 0,
        words["is_stop"].astype(bool).to_numpy(),
        words["pos"].astype(str).to_numpy() == "ADJ",
        words["is_punct"].astype(bool).to_numpy(),
        words["is_num"].astype(bool).to_numpy(),
    ]
    values = np.select(conditions, list(CATEGORIES[:-1]), default=CATEGORIES[-1])
    return pd.Series(values, index=words.index, name="category").astype(object)


def select_cell(examples: pd.DataFrame, class_id: int | None, cell: str = ALL) -> pd.Series:
    """Boolean mask of the rows in one one-vs-rest confusion cell of one class.

    With class c: "TP" gold == pred == c; "FP" pred == c != gold; "FN" gold == c != pred;
    "TN" neither gold nor pred is c; "all" every row whose gold class is c. With
    ``class_id=None`` only ``cell="all"`` is allowed and every row is selected. Works on any
    table with ``gold`` and ``pred`` columns (examples or words).
    """
    _require_columns(examples, ("gold", "pred"), "examples")
    cell = _normalise_cell(cell)
    if class_id is None:
        if cell != ALL:
            raise ValueError(f"cell {cell!r} is one-vs-rest and needs a class: pass class_id=<class index> "
                             f"or cell='all'.")
        return pd.Series(True, index=examples.index, name="selected")
    c = _check_class(class_id, examples)
    gold, pred = examples["gold"] == c, examples["pred"] == c
    masks = {ALL: gold, "TP": gold & pred, "FP": ~gold & pred, "FN": gold & ~pred, "TN": ~gold & ~pred}
    return masks[cell].rename("selected")


def _example_mask(words: pd.DataFrame, class_id: int | None, cell: str,
                  examples: pd.DataFrame | None) -> pd.Series:
    """Words whose example passes the class / one-vs-rest cell filter (judged on examples when given)."""
    if examples is None:
        return select_cell(words, class_id, cell)
    _require_columns(examples, ("id", "gold", "pred"), "examples")
    unknown = ~words["example_id"].isin(examples["id"])
    if unknown.any():
        sample = words.loc[unknown, "example_id"].unique()[:5].tolist()
        raise ValueError(f"words refer to example ids missing from examples (e.g. {sample}); "
                         f"pass the examples table of the same bundle.")
    chosen = examples.loc[select_cell(examples, class_id, cell), "id"]
    return words["example_id"].isin(chosen)


# --------------------------------------------------------------------------- clitics and source tags


def pos_label(tag: str) -> str:
    """A POS tag with its meaning, for readers: "ADP (preposition)"; an unknown tag as it is."""
    name = POS_NAMES.get(str(tag))
    return f"{tag} ({name})" if name else str(tag)


def _neighbours(words: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The lower-cased previous and next word of each word in its example ("" at the ends)."""
    order = words.sort_values(["example_id", "word_index"], kind="stable")
    by_example = order.groupby("example_id", sort=False)["lower"]
    prev = by_example.shift(1).fillna("").astype(str).reindex(words.index)
    nxt = by_example.shift(-1).fillna("").astype(str).reindex(words.index)
    return prev, nxt


def clitic_mask(words: pd.DataFrame) -> pd.Series:
    """True for clitics split off a word ("'s", "n't"; "s" or "t" right after an apostrophe word,
    as in AG News's "Association ' s"): counted alone they top word lists and mean nothing."""
    _require_columns(words, ("example_id", "word_index", "lower"), "words")
    lower = words["lower"].astype(str)
    prev, _ = _neighbours(words)
    mask = lower.isin(CLITICS) | (lower.isin(CLITIC_TAILS) & prev.isin(APOSTROPHES))
    return mask.rename("clitic")


def source_tag_mask(words: pd.DataFrame) -> pd.Series:
    """True for news-source tags: an agency or outlet name (``NEWS_SOURCES``, or a web address such as
    "washingtonpost.com") in parentheses or before a dash, as in "( AP ) -" or "Reuters -". The same
    name inside a sentence ("told Reuters") is a word like any other."""
    _require_columns(words, ("example_id", "word_index", "lower"), "words")
    lower = words["lower"].astype(str)
    prev, nxt = _neighbours(words)
    named = lower.isin(NEWS_SOURCES) | lower.str.endswith(WEB_SUFFIXES)
    tagged = (prev.eq("(") & nxt.eq(")")) | nxt.isin(DASHES)
    return (named & tagged).rename("source_tag")


def is_source_name(terms: Sequence[str] | pd.Series) -> pd.Series:
    """True for words that are news-source names (``NEWS_SOURCES`` or web addresses), for tables of
    terms without their context (a domain-term list)."""
    lower = pd.Series(terms, dtype=object).astype(str).str.lower()
    return (lower.isin(NEWS_SOURCES) | lower.str.endswith(WEB_SUFFIXES)).rename("source_name")


def without_source_terms(words: pd.DataFrame) -> pd.DataFrame:
    """The words table with news-source names no longer counted as domain terms (their
    ``domain_class`` set to -1): an agency name marks where a text came from, not its class."""
    _require_columns(words, ("lower", "domain_class"), "words")
    out = words.copy()
    out.loc[is_source_name(words["lower"]).to_numpy(), "domain_class"] = -1
    return out


def without_clitics_and_sources(words: pd.DataFrame, *, clitics: bool = True, sources: bool = True) -> pd.DataFrame:
    """The words table without clitics and/or news-source tags (``words.attrs`` kept)."""
    keep = pd.Series(True, index=words.index)
    if clitics:
        keep &= ~clitic_mask(words)
    if sources:
        keep &= ~source_tag_mask(words)
    out = words.loc[keep]
    out.attrs = dict(words.attrs)
    return out


# --------------------------------------------------------------------------- frequencies and POS


def word_frequencies(words: pd.DataFrame, *, retained: bool = True, layer: int | None = None,
                     class_id: int | None = None, cell: str = ALL, examples: pd.DataFrame | None = None,
                     exclude_stopwords: bool = False, exclude_punct: bool = True, exclude_clitics: bool = False,
                     exclude_sources: bool = False, top: int | None = 30,
                     num_layers: int | None = None) -> pd.DataFrame:
    """The most frequent (lower-cased) words that survive, or are pruned by, one layer.

    Args:
        words: the bundle's words table.
        retained: count words alive at ``layer`` (depth >= layer) if True, else words pruned
            by it (depth < layer).
        layer: 1..L; default L-1 (``last_reached_layer``): words the last layer attends over
            (or, with ``retained=False``, pruned before it).
        class_id: gold class to restrict to; with ``cell`` other than "all", the examples in
            that one-vs-rest confusion cell of the class instead (see ``select_cell``).
        cell: "all", "TP", "FP", "FN" or "TN"; needs ``class_id`` unless "all".
        examples: optional examples table to judge gold/pred from (else the words' copies).
        exclude_stopwords / exclude_punct: drop stop words / punctuation before counting.
        exclude_clitics / exclude_sources: drop clitics ("'s", ``clitic_mask``) / news-source
            tags ("(AP)", ``source_tag_mask``) before counting.
        top: keep this many most frequent words (None: all).
        num_layers: L, when it cannot be read from the words (see module docstring).

    Returns:
        DataFrame[word, count, share], most frequent first (ties alphabetical); ``share`` is
        the count over the number of words in the filtered selection.
    """
    _require_columns(words, ("example_id", "lower", "depth", "is_stop", "is_punct"), "words")
    if top is not None and (not _is_int(top) or top < 1):
        raise ValueError(f"top must be a positive int or None (all words), got {top!r}.")
    n_layers = _infer_num_layers(words, num_layers)
    if layer is None and n_layers is None:
        raise ValueError("Cannot tell the last layer from these words; pass layer= or num_layers=.")
    layer = _check_layer(last_reached_layer(n_layers) if layer is None else layer, n_layers)
    mask = (words["depth"] >= layer) if retained else (words["depth"] < layer)
    mask &= _example_mask(words, class_id, cell, examples)
    if exclude_stopwords:
        mask &= ~words["is_stop"].astype(bool)
    if exclude_punct:
        mask &= ~words["is_punct"].astype(bool)
    if exclude_clitics:
        mask &= ~clitic_mask(words)
    if exclude_sources:
        mask &= ~source_tag_mask(words)
    selected = words.loc[mask, "lower"].astype(str)
    counts = selected.value_counts().rename_axis("word").reset_index(name="count")
    counts = counts.sort_values(["count", "word"], ascending=[False, True], kind="stable")
    counts["count"] = counts["count"].astype("int64")
    counts["share"] = (counts["count"] / max(len(selected), 1)).astype("float64")
    return (counts if top is None else counts.head(int(top))).reset_index(drop=True)


def _status(depth: pd.Series, layer: int) -> np.ndarray:
    """'retained' where the word is alive at the layer, else 'pruned'."""
    return np.where(depth.to_numpy() >= layer, STATUSES[0], STATUSES[1])


def pos_distribution(words: pd.DataFrame, layer: int, by: str = "gold", *,
                     num_layers: int | None = None) -> pd.DataFrame:
    """POS mix of the retained and of the pruned words at one layer, per class.

    Args:
        words: the bundle's words table.
        layer: 1..L; retained = alive at it, pruned = pruned by it.
        by: group words by their example's "gold" or "pred" class.

    Returns:
        Long DataFrame[class, pos, status, count, share] over every class x POS x status seen
        (zero counts included); ``share`` is count over the words of that class and status
        (0.0 for an empty group, e.g. "pruned" at layer 1).
    """
    if by not in ("gold", "pred"):
        raise ValueError(f"by must be 'gold' or 'pred' (which class of the example to group by), got {by!r}.")
    _require_columns(words, ("pos", "depth", by), "words")
    layer = _check_layer(layer, _infer_num_layers(words, num_layers))
    frame = pd.DataFrame({"class": words[by].astype("int64").to_numpy(), "pos": words["pos"].astype(str).to_numpy(),
                          "status": _status(words["depth"], layer)})
    grid = pd.MultiIndex.from_product([sorted(frame["class"].unique()), sorted(frame["pos"].unique()), STATUSES],
                                      names=["class", "pos", "status"])
    counts = frame.groupby(["class", "pos", "status"]).size().reindex(grid, fill_value=0)
    out = counts.rename("count").astype("int64").reset_index()
    totals = out.groupby(["class", "status"])["count"].transform("sum")
    out["share"] = (out["count"] / totals.where(totals > 0, 1)).astype("float64")
    return out


def pos_distribution_all_layers(words: pd.DataFrame, by: str = "gold", *,
                                num_layers: int | None = None) -> pd.DataFrame:
    """``pos_distribution`` for every layer 1..L, stacked with a leading ``layer`` column."""
    n_layers = _known_layers(words, num_layers)
    parts = [pos_distribution(words, layer, by, num_layers=n_layers).assign(layer=layer)
             for layer in range(1, n_layers + 1)]
    out = pd.concat(parts, ignore_index=True)
    return out[["layer", "class", "pos", "status", "count", "share"]]


# --------------------------------------------------------------------------- retention by layer


def _alive_counts(keys: list[pd.Series], depth: pd.Series, num_layers: int) -> pd.DataFrame:
    """Words alive at each layer per key group: index = keys, columns = layers 1..L."""
    by_depth = depth.groupby(keys + [depth.rename("_depth")]).size().unstack("_depth", fill_value=0)
    by_depth = by_depth.reindex(columns=range(1, num_layers + 1), fill_value=0)
    alive = by_depth.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]  # alive at l = words with depth >= l
    alive.columns.name = "layer"
    return alive


def category_retention(words: pd.DataFrame, num_layers: int, by_class: bool = True) -> pd.DataFrame:
    """Share of each word category still alive at every layer, per gold class or overall.

    Returns:
        Long DataFrame[layer, class, category, words, retained, rate]: ``words`` is the number
        of words of the category (in the class), ``retained`` how many are alive at the layer
        (depth >= layer) and ``rate`` = retained / words. ``class`` is the gold class index, or
        "all" when ``by_class`` is False. Only categories that occur are listed.
    """
    _require_columns(words, ("depth", "gold", *_CATEGORY_COLUMNS), "words")
    n_layers = _check_num_layers(num_layers)
    _check_depths(words, n_layers)
    columns = ["layer", "class", "category", "words", "retained", "rate"]
    if len(words) == 0:
        return pd.DataFrame(columns=columns)
    klass = words["gold"].astype("int64") if by_class else pd.Series(ALL, index=words.index, dtype=object)
    alive = _alive_counts([klass.rename("class"), category_of(words)], words["depth"], n_layers)
    long = alive.stack().rename("retained").reset_index()
    long["words"] = alive[1].reindex(pd.MultiIndex.from_frame(long[["class", "category"]])).to_numpy()
    long["rate"] = long["retained"] / long["words"]
    long["category"] = pd.Categorical(long["category"], categories=CATEGORIES, ordered=True)
    long = long.sort_values(["layer", "class", "category"]).reset_index(drop=True)
    long["category"] = long["category"].astype(str).astype(object)
    return long.astype({"layer": "int64", "words": "int64", "retained": "int64", "rate": "float64"})[columns]


def _survival(depth: pd.Series, num_layers: int) -> dict:
    """Occurrences, mean depth and share kept to the last layer of some words."""
    n = len(depth)
    return {
        "occurrences": int(n),
        "mean_depth": float(depth.mean()) if n else None,
        "share_kept_last": float((depth >= last_reached_layer(num_layers)).mean()) if n else None,
    }


def word_survival(words: pd.DataFrame, word: str, *, num_layers: int | None = None) -> dict:
    """How deep one word (case-insensitive) survives across all its occurrences.

    Returns:
        JSON-ready dict: ``word`` (lower-cased), ``occurrences``, ``mean_depth`` and
        ``share_kept_last`` (None when the word never occurs), ``depth_histogram``
        {layer: number of occurrences whose deepest layer is that one} for layers 1..L, and
        ``per_class`` {gold class: {occurrences, mean_depth, share_kept_last}}.
    """
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"word must be a non-empty string such as 'excellent', got {word!r}.")
    _require_columns(words, ("lower", "depth", "gold"), "words")
    n_layers = _known_layers(words, num_layers)
    key = word.strip().lower()
    hits = words.loc[words["lower"].astype(str).str.lower() == key]
    histogram = hits["depth"].value_counts().reindex(range(1, n_layers + 1), fill_value=0)
    per_class = {int(c): _survival(group["depth"], n_layers) for c, group in hits.groupby("gold")}
    return {
        "word": key,
        **_survival(hits["depth"], n_layers),
        "depth_histogram": {int(layer): int(count) for layer, count in histogram.items()},
        "per_class": per_class,
    }


# --------------------------------------------------------------------------- domain-term test


def contingency_table(kept: Sequence[bool] | pd.Series | np.ndarray,
                      correct: Sequence[bool] | pd.Series | np.ndarray) -> np.ndarray:
    """2x2 counts of examples: rows (kept, pruned), columns (correct, incorrect).

    Args:
        kept: per example, True if a domain term of its gold class reached the last layer.
        correct: per example, True if the prediction was right.

    Returns:
        int64 array [[kept_correct, kept_incorrect], [pruned_correct, pruned_incorrect]].
    """
    kept_a, correct_a = np.asarray(kept), np.asarray(correct)
    if kept_a.ndim != 1 or kept_a.shape != correct_a.shape:
        raise ValueError(f"kept and correct must be 1-D and of equal length (one value per example), "
                         f"got shapes {kept_a.shape} and {correct_a.shape}.")
    if kept_a.dtype != bool or correct_a.dtype != bool:
        raise ValueError("kept and correct must be boolean (True/False per example); convert with .astype(bool).")
    return np.array([[np.sum(kept_a & correct_a), np.sum(kept_a & ~correct_a)],
                     [np.sum(~kept_a & correct_a), np.sum(~kept_a & ~correct_a)]], dtype=np.int64)


def independence_test(table: np.ndarray) -> tuple[str, float, float]:
    """Test a 2x2 table for independence: chi-square, or Fisher's exact for small counts.

    Fisher's exact test is used when any expected count is below ``MIN_EXPECTED`` (5); otherwise
    ``scipy.stats.chi2_contingency`` with Yates' continuity correction. When a row or column is
    all zero no test is possible.

    Returns:
        (test, statistic, p_value): test is "chi-square" (statistic = chi2), "fisher"
        (statistic = sample odds ratio, may be inf) or "n/a" (both NaN).
    """
    table = np.asarray(table)
    if table.shape != (2, 2) or (table < 0).any():
        raise ValueError(f"table must be a 2x2 array of non-negative counts, got shape {table.shape}.")
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    if (rows == 0).any() or (cols == 0).any():
        return "n/a", math.nan, math.nan
    expected = np.outer(rows, cols) / table.sum()
    if (expected < MIN_EXPECTED).any():
        odds, p = sps.fisher_exact(table)
        return "fisher", float(odds), float(p)
    chi2, p, _, _ = sps.chi2_contingency(table, correction=True)
    return "chi-square", float(chi2), float(p)


def _domain_groups(words: pd.DataFrame, examples: pd.DataFrame, num_layers: int) -> pd.DataFrame:
    """Per example with a domain term of its gold class: gold, correct, kept (any term reaches the last layer)."""
    gold = examples.set_index("id")["gold"]
    word_gold = words["example_id"].map(gold)
    own = words.loc[words["domain_class"].to_numpy() == word_gold.to_numpy()]
    kept = (own["depth"] >= last_reached_layer(num_layers)).groupby(own["example_id"]).any().rename("kept")
    per_example = examples.set_index("id")[["gold", "correct"]].join(kept, how="inner")
    return per_example.astype({"kept": bool, "correct": bool})


def _domain_row(name: str, class_id: int, group: pd.DataFrame) -> dict:
    """One row of the domain-term test for a group of examples."""
    table = contingency_table(group["kept"].to_numpy(), group["correct"].to_numpy())
    test, statistic, p_value = independence_test(table)
    n_kept, n_pruned = int(table[0].sum()), int(table[1].sum())
    return {
        "class": name, "class_id": class_id, "n_kept": n_kept, "n_pruned": n_pruned,
        "acc_kept": table[0, 0] / n_kept if n_kept else math.nan,
        "acc_pruned": table[1, 0] / n_pruned if n_pruned else math.nan,
        "kept_correct": int(table[0, 0]), "kept_incorrect": int(table[0, 1]),
        "pruned_correct": int(table[1, 0]), "pruned_incorrect": int(table[1, 1]),
        "test": test, "statistic": statistic, "p_value": p_value,
    }


def domain_retention_test(words: pd.DataFrame, examples: pd.DataFrame, label_names: Sequence[str],
                          num_layers: int) -> pd.DataFrame:
    """Is accuracy higher when a domain term of the gold class reaches the last layer?

    Only examples containing at least one domain term of their gold class count. Group "kept":
    at least one such term is alive at layer L; group "pruned": all were pruned before it.

    Returns:
        One row per class plus a final "all" row: class (name or "all"), class_id (-1 for
        "all"), n_kept, n_pruned, acc_kept, acc_pruned (NaN for an empty group), kept_correct,
        kept_incorrect, pruned_correct, pruned_incorrect, test, statistic, p_value (see
        ``independence_test``).
    """
    _require_columns(words, ("example_id", "domain_class", "depth"), "words")
    _require_columns(examples, ("id", "gold", "correct"), "examples")
    names = _check_label_names(label_names)
    n_layers = _check_num_layers(num_layers)
    _check_depths(words, n_layers)
    if len(examples) and not examples["gold"].between(0, len(names) - 1).all():
        raise ValueError(f"examples.gold has class indices outside 0..{len(names) - 1}; "
                         f"pass the label_names of the data set these examples come from.")
    groups = _domain_groups(words, examples, n_layers)
    rows = [_domain_row(name, c, groups[groups["gold"] == c]) for c, name in enumerate(names)]
    rows.append(_domain_row(ALL, -1, groups))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- summary


def _retention_curves(keys: pd.Series, depth: pd.Series, num_layers: int) -> dict[str, list[float]]:
    """{key: [share of its words alive at layer 1..L]} as plain floats."""
    if len(depth) == 0:
        return {}
    alive = _alive_counts([keys.rename("key")], depth, num_layers)
    rates = alive.div(alive[1], axis=0)
    return {str(k): [float(x) for x in row] for k, row in zip(rates.index, rates.to_numpy())}


def summary_counts(words: pd.DataFrame, examples: pd.DataFrame, num_layers: int) -> dict:
    """Headline numbers of a bundle, JSON-serialisable (plain ints, floats, lists and dicts).

    Returns:
        n_examples, n_words, num_layers, accuracy, mean_input_tokens, mean_alive_per_layer
        (list of L means of alive_1..alive_L), retention_by_pos and retention_by_category
        ({name: list of L shares of those words alive at each layer}).
    """
    _require_columns(words, ("depth", "pos", *_CATEGORY_COLUMNS), "words")
    n_layers = _check_num_layers(num_layers)
    alive_cols = [f"alive_{layer}" for layer in range(1, n_layers + 1)]
    _require_columns(examples, ("correct", "n_tokens", *alive_cols), "examples")
    if len(examples) == 0:
        raise ValueError("examples is empty; evaluate at least one example before summarising.")
    _check_depths(words, n_layers)
    return {
        "n_examples": int(len(examples)),
        "n_words": int(len(words)),
        "num_layers": n_layers,
        "accuracy": float(examples["correct"].astype(bool).mean()),
        "mean_input_tokens": float(examples["n_tokens"].mean()),
        "mean_alive_per_layer": [float(x) for x in examples[alive_cols].mean().to_numpy()],
        "retention_by_pos": _retention_curves(words["pos"].astype(str), words["depth"], n_layers),
        "retention_by_category": _retention_curves(category_of(words), words["depth"], n_layers),
    }


# --------------------------------------------------------------------------- domain terms by layer


def domain_term_retention(words: pd.DataFrame, class_id: int, num_layers: int,
                          label_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of the occurrences of one class's domain terms alive at each layer.

    The occurrences (words with ``domain_class == class_id``) are split by where they occur:
    in examples whose gold class is that class ("in <class> examples") and in the others
    ("in other examples"); "all" covers both.

    Returns:
        Long DataFrame[layer, group, words, retained, rate] (groups with no occurrence are left
        out; an empty frame when the class's terms never occur).
    """
    _require_columns(words, ("domain_class", "depth", "gold"), "words")
    n_layers = _check_num_layers(num_layers)
    if not _is_int(class_id) or int(class_id) < 0:
        raise ValueError(f"class_id must be a non-negative int class index, got {class_id!r}.")
    _check_depths(words, n_layers)
    name = str(label_names[class_id]) if label_names is not None and class_id < len(label_names) else str(class_id)
    terms = words.loc[words["domain_class"].to_numpy() == int(class_id)]
    own = terms["gold"].to_numpy() == int(class_id)
    groups = [("all", terms["depth"]), (f"in {name} examples", terms.loc[own, "depth"]),
              ("in other examples", terms.loc[~own, "depth"])]
    rows = []
    for group, depth in groups:
        if len(depth) == 0:
            continue
        for layer in range(1, n_layers + 1):
            kept = int((depth >= layer).sum())
            rows.append({"layer": layer, "group": group, "words": int(len(depth)), "retained": kept,
                         "rate": kept / len(depth)})
    columns = ["layer", "group", "words", "retained", "rate"]
    return pd.DataFrame(rows, columns=columns).astype({"layer": "int64", "words": "int64", "retained": "int64",
                                                      "rate": "float64"})


def term_survival(words: pd.DataFrame, terms: Sequence[str], num_layers: int) -> pd.DataFrame:
    """Per term: occurrences among the analysed words, mean depth and share kept to the last layer.

    Returns:
        DataFrame[term, occurrences, mean_depth, share_kept_last] in the order of ``terms``
        (NaN for a term that does not occur).
    """
    _require_columns(words, ("lower", "depth"), "words")
    n_layers = _check_num_layers(num_layers)
    keys = [str(t).lower() for t in terms]
    hits = words.loc[words["lower"].astype(str).isin(keys), ["lower", "depth"]]
    grouped = hits.groupby(hits["lower"].astype(str))["depth"]
    table = pd.DataFrame({"occurrences": grouped.size(), "mean_depth": grouped.mean(),
                          "share_kept_last": grouped.apply(lambda d: float((d >= last_reached_layer(n_layers)).mean()))})
    table = table.reindex(keys)
    table["occurrences"] = table["occurrences"].fillna(0).astype("int64")
    return table.rename_axis("term").reset_index()
