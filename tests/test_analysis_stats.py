"""Word-level statistics on hand-made bundles (4 examples, 12 words, L = 4) with known answers.

As in real LTP models, no word survives the last layer's own pruning (max depth 3): a word
reaches the last layer when its depth is at least L - 1 = 3."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ltp.analysis import stats

L = 4
LABELS = ["neg", "pos"]

# (example_id, text, pos, depth, is_stop, ent_type, domain_class, is_punct, is_num)
WORDS = [
    (10, "Great", "ADJ", 3, False, "", 1, False, False),
    (10, "film", "NOUN", 3, False, "", -1, False, False),
    (10, "!", "PUNCT", 1, False, "", -1, True, False),
    (11, "the", "DET", 1, True, "", -1, False, False),
    (11, "great", "ADJ", 2, False, "", 1, False, False),
    (11, "Paris", "PROPN", 3, False, "GPE", -1, False, False),
    (12, "boring", "ADJ", 3, False, "", 0, False, False),
    (12, "the", "DET", 2, True, "", -1, False, False),
    (12, "2", "NUM", 1, False, "", -1, False, True),
    (13, "excellent", "ADJ", 2, False, "", 1, False, False),
    (13, "superb", "ADJ", 3, False, "", -1, False, False),
    (13, ".", "PUNCT", 1, False, "", -1, True, False),
]
# id -> (gold, pred): 10 TP, 11 FP, 12 TN, 13 FN with respect to class 1
GOLD_PRED = {10: (1, 1), 11: (0, 1), 12: (0, 0), 13: (1, 0)}


def make_examples(gold_pred: dict[int, tuple[int, int]] = GOLD_PRED) -> pd.DataFrame:
    """An examples table for the given (gold, pred) per id, binary classes."""
    ids = list(gold_pred)
    gold = np.array([gold_pred[i][0] for i in ids], dtype=np.int16)
    pred = np.array([gold_pred[i][1] for i in ids], dtype=np.int16)
    n = len(ids)
    df = pd.DataFrame({"id": np.array(ids, dtype=np.int64), "gold": gold, "pred": pred,
                       "prob_0": np.where(pred == 0, 0.8, 0.2).astype(np.float32),
                       "prob_1": np.where(pred == 1, 0.8, 0.2).astype(np.float32),
                       "correct": gold == pred, "n_tokens": np.full(n, 6, dtype=np.int16)})
    for layer, alive in zip(range(1, L + 1), (6, 4, 2, 1)):
        df[f"alive_{layer}"] = np.full(n, alive, dtype=np.int16)
    return df


def make_words(rows=WORDS, gold_pred=GOLD_PRED) -> pd.DataFrame:
    """A words table from compact rows, with gold/pred/correct copied from the examples."""
    df = pd.DataFrame(rows, columns=["example_id", "text", "pos", "depth", "is_stop", "ent_type",
                                     "domain_class", "is_punct", "is_num"])
    df["example_id"] = df["example_id"].astype(np.int64)
    df["lower"] = df["text"].str.lower()
    df["depth"] = df["depth"].astype(np.int16)
    df["domain_class"] = df["domain_class"].astype(np.int16)
    df["kept_last"] = df["depth"] >= L - 1
    df.attrs["num_layers"] = L
    df["gold"] = df["example_id"].map(lambda i: gold_pred[i][0]).astype(np.int16)
    df["pred"] = df["example_id"].map(lambda i: gold_pred[i][1]).astype(np.int16)
    df["correct"] = df["gold"] == df["pred"]
    return df


@pytest.fixture
def words() -> pd.DataFrame:
    return make_words()


@pytest.fixture
def examples() -> pd.DataFrame:
    return make_examples()


# --------------------------------------------------------------------------- category_of


def test_category_of_follows_priority(words):
    got = stats.category_of(words).tolist()
    assert got == ["domain term", "other", "punctuation", "stopword", "domain term", "entity",
                   "domain term", "stopword", "number", "domain term", "adjective", "punctuation"]


def test_category_priority_on_overlapping_flags():
    rows = [  # entity beats stopword; domain term beats stopword; stopword beats adjective; punct beats number
        (1, "US", "PRON", 2, True, "GPE", -1, False, False),
        (1, "not", "PART", 2, True, "", 0, False, False),
        (1, "own", "ADJ", 2, True, "", -1, False, False),
        (1, "%", "PUNCT", 2, False, "", -1, True, True),
    ]
    got = stats.category_of(make_words(rows, {1: (0, 0)})).tolist()
    assert got == ["entity", "domain term", "stopword", "punctuation"]


def test_category_of_needs_columns(words):
    with pytest.raises(ValueError, match="ent_type"):
        stats.category_of(words.drop(columns="ent_type"))


# --------------------------------------------------------------------------- select_cell


@pytest.mark.parametrize("class_id, cell, ids", [
    (1, "TP", [10]), (1, "FP", [11]), (1, "FN", [13]), (1, "TN", [12]), (1, "all", [10, 13]),
    (0, "TP", [12]), (0, "FP", [13]), (0, "FN", [11]), (0, "TN", [10]), (0, "tp", [12]),
    (None, "all", [10, 11, 12, 13]),
])
def test_select_cell_one_vs_rest(examples, class_id, cell, ids):
    mask = stats.select_cell(examples, class_id, cell)
    assert mask.dtype == bool
    assert examples.loc[mask, "id"].tolist() == ids


def test_select_cell_bad_inputs(examples):
    with pytest.raises(ValueError, match="needs a class"):
        stats.select_cell(examples, None, "TP")
    with pytest.raises(ValueError, match="unknown"):
        stats.select_cell(examples, 2, "TP")  # only prob_0, prob_1: two classes
    with pytest.raises(ValueError, match="non-negative int"):
        stats.select_cell(examples, -1, "TP")
    with pytest.raises(ValueError, match="cell must be one of"):
        stats.select_cell(examples, 1, "hit")
    with pytest.raises(ValueError, match="pred"):
        stats.select_cell(examples.drop(columns="pred"), 1, "TP")


# --------------------------------------------------------------------------- word_frequencies


def test_word_frequencies_kept_to_last_layer(words):
    freq = stats.word_frequencies(words)  # default: reaching the last layer (depth >= 3), no punctuation
    assert list(freq.columns) == ["word", "count", "share"]
    assert freq["word"].tolist() == ["boring", "film", "great", "paris", "superb"]
    assert freq["count"].tolist() == [1] * 5
    assert freq["share"].tolist() == pytest.approx([0.2] * 5)


def test_word_frequencies_alive_means_depth_at_least_layer(words):
    freq = stats.word_frequencies(words, layer=2)
    assert freq.iloc[0].tolist() == ["great", 2, pytest.approx(2 / 8)]
    assert freq["count"].sum() == 8  # depth >= 2, no punctuation
    assert stats.word_frequencies(words, layer=1, exclude_punct=False)["count"].sum() == 12


def test_word_frequencies_pruned(words):
    freq = stats.word_frequencies(words, retained=False)  # depth < 3
    assert freq["word"].tolist() == ["the", "2", "excellent", "great"]
    assert freq["count"].tolist() == [2, 1, 1, 1]
    assert freq["share"].iloc[0] == pytest.approx(2 / 5)
    no_stop = stats.word_frequencies(words, retained=False, exclude_stopwords=True)
    assert no_stop["word"].tolist() == ["2", "excellent", "great"]
    assert no_stop["share"].tolist() == pytest.approx([1 / 3] * 3)
    assert stats.word_frequencies(words, retained=False, layer=1).empty  # layer 1 never prunes
    with_punct = stats.word_frequencies(words, retained=False, exclude_punct=False, layer=2)
    assert set(with_punct["word"]) == {"!", ".", "the", "2"}


def test_word_frequencies_class_and_cell(words, examples):
    by_class = stats.word_frequencies(words, class_id=1)
    assert by_class["word"].tolist() == ["film", "great", "superb"]
    assert by_class["share"].tolist() == pytest.approx([1 / 3] * 3)
    fp = stats.word_frequencies(words, class_id=1, cell="FP")  # example 11: gold 0, pred 1
    assert fp["word"].tolist() == ["paris"]
    fp_ex = stats.word_frequencies(words, class_id=1, cell="FP", examples=examples)
    pd.testing.assert_frame_equal(fp, fp_ex)
    assert stats.word_frequencies(words, class_id=0, cell="FN")["word"].tolist() == ["paris"]
    assert stats.word_frequencies(words, top=2)["word"].tolist() == ["boring", "film"]


def test_word_frequencies_bad_inputs(words, examples):
    with pytest.raises(ValueError, match="1..4"):
        stats.word_frequencies(words, layer=5)
    with pytest.raises(ValueError, match="layer"):
        stats.word_frequencies(words, layer=0)
    with pytest.raises(ValueError, match="needs a class"):
        stats.word_frequencies(words, cell="TP")
    with pytest.raises(ValueError, match="unknown"):
        stats.word_frequencies(words, class_id=7)
    with pytest.raises(ValueError, match="top"):
        stats.word_frequencies(words, top=0)
    with pytest.raises(ValueError, match="missing from examples"):
        stats.word_frequencies(words, class_id=1, examples=examples[examples["id"] != 13])
    no_attrs = words.copy()
    no_attrs.attrs = {}
    with pytest.raises(ValueError, match="num_layers"):
        stats.word_frequencies(no_attrs)
    assert len(stats.word_frequencies(no_attrs, num_layers=4)) == 5


# --------------------------------------------------------------------------- POS


def test_pos_distribution(words):
    pos = stats.pos_distribution(words, 3)
    assert list(pos.columns) == ["class", "pos", "status", "count", "share"]
    assert len(pos) == 2 * 6 * 2  # classes x POS seen x status, zeros included
    row = pos.set_index(["class", "pos", "status"])
    assert row.loc[(0, "PROPN", "retained"), "count"] == 1
    assert row.loc[(0, "PROPN", "retained"), "share"] == pytest.approx(0.5)
    assert row.loc[(0, "DET", "pruned"), "count"] == 2
    assert row.loc[(0, "DET", "pruned"), "share"] == pytest.approx(0.5)
    assert row.loc[(1, "ADJ", "retained"), "share"] == pytest.approx(2 / 3)  # Great, superb; film
    shares = pos.groupby(["class", "status"])["share"].sum()
    assert shares.to_numpy() == pytest.approx(np.ones(4))


def test_pos_distribution_layer_one_prunes_nothing_and_by_pred(words):
    pos = stats.pos_distribution(words, 1)
    pruned = pos[pos["status"] == "pruned"]
    assert pruned["count"].sum() == 0 and pruned["share"].sum() == 0.0
    by_pred = stats.pos_distribution(words, 3, by="pred").set_index(["class", "pos", "status"])
    assert by_pred.loc[(1, "PROPN", "retained"), "count"] == 1  # Paris: example 11 predicted 1
    with pytest.raises(ValueError, match="'gold' or 'pred'"):
        stats.pos_distribution(words, 3, by="label")
    with pytest.raises(ValueError, match="1..4"):
        stats.pos_distribution(words, 5)


def test_pos_distribution_all_layers(words):
    out = stats.pos_distribution_all_layers(words)
    assert list(out.columns) == ["layer", "class", "pos", "status", "count", "share"]
    assert sorted(out["layer"].unique()) == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(out[out["layer"] == 2].drop(columns="layer").reset_index(drop=True),
                                  stats.pos_distribution(words, 2))


# --------------------------------------------------------------------------- category retention


def test_category_retention_overall(words):
    out = stats.category_retention(words, L, by_class=False)
    assert list(out.columns) == ["layer", "class", "category", "words", "retained", "rate"]
    assert len(out) == 7 * L and set(out["class"]) == {"all"}
    rates = out.pivot(index="category", columns="layer", values="rate")
    assert rates.loc["domain term"].tolist() == pytest.approx([1, 1, 0.5, 0])
    assert rates.loc["stopword"].tolist() == pytest.approx([1, 0.5, 0, 0])
    assert rates.loc["punctuation"].tolist() == pytest.approx([1, 0, 0, 0])
    assert rates.loc["entity"].tolist() == pytest.approx([1, 1, 1, 0])
    assert out.loc[out["category"] == "domain term", "words"].tolist() == [4, 4, 4, 4]
    assert out[out["layer"] == 1]["category"].tolist() == list(stats.CATEGORIES)  # priority order


def test_category_retention_by_class(words):
    out = stats.category_retention(words, L)
    assert len(out) == 8 * L
    row = out.set_index(["layer", "class", "category"])
    assert row.loc[(3, 0, "domain term"), ["words", "retained"]].tolist() == [2, 1]
    assert row.loc[(3, 0, "domain term"), "rate"] == pytest.approx(0.5)
    assert row.loc[(2, 1, "punctuation"), "rate"] == 0.0
    with pytest.raises(ValueError, match="num_layers is 2"):
        stats.category_retention(words, 2)
    with pytest.raises(ValueError, match="positive int"):
        stats.category_retention(words, 0)


# --------------------------------------------------------------------------- word survival


def test_word_survival(words):
    out = stats.word_survival(words, "GREAT ")
    assert out["occurrences"] == 2
    assert out["mean_depth"] == pytest.approx(2.5)
    assert out["share_kept_last"] == pytest.approx(0.5)
    assert out["depth_histogram"] == {1: 0, 2: 1, 3: 1, 4: 0}
    assert out["per_class"] == {0: {"occurrences": 1, "mean_depth": 2.0, "share_kept_last": 0.0},
                                1: {"occurrences": 1, "mean_depth": 3.0, "share_kept_last": 1.0}}
    json.dumps(out)


def test_word_survival_unknown_word_and_bad_input(words):
    out = stats.word_survival(words, "zzz")
    assert out["occurrences"] == 0 and out["mean_depth"] is None
    assert out["depth_histogram"] == {1: 0, 2: 0, 3: 0, 4: 0} and out["per_class"] == {}
    with pytest.raises(ValueError, match="non-empty string"):
        stats.word_survival(words, "  ")


# --------------------------------------------------------------------------- contingency and tests


def test_contingency_table():
    kept = np.array([True, True, True, False, False])
    correct = np.array([True, True, False, False, True])
    assert stats.contingency_table(kept, correct).tolist() == [[2, 1], [1, 1]]
    with pytest.raises(ValueError, match="equal length"):
        stats.contingency_table(kept, correct[:3])
    with pytest.raises(ValueError, match="boolean"):
        stats.contingency_table([1, 0], [1, 1])


def test_independence_test_chooses_chi_square_or_fisher():
    big = np.array([[30, 10], [10, 30]])
    test, stat, p = stats.independence_test(big)
    chi2, p_ref, _, _ = sps.chi2_contingency(big, correction=True)
    assert test == "chi-square" and stat == pytest.approx(chi2) and p == pytest.approx(p_ref)
    small = np.array([[50, 5], [50, 1]])  # one expected count is 51 * 6 / 106 < 5
    test, stat, p = stats.independence_test(small)
    assert test == "fisher" and p == pytest.approx(sps.fisher_exact(small)[1])
    assert stats.independence_test(np.array([[0, 0], [3, 4]]))[0] == "n/a"
    assert math.isnan(stats.independence_test(np.array([[2, 0], [3, 0]]))[2])
    with pytest.raises(ValueError, match="2x2"):
        stats.independence_test(np.ones((3, 2)))


def test_domain_retention_test_tiny(words, examples):
    out = stats.domain_retention_test(words, examples, LABELS, L)
    assert out["class"].tolist() == ["neg", "pos", "all"]
    neg, pos, total = (out.iloc[i] for i in range(3))
    # example 11 (gold 0) only has a class-1 term, so it is left out; 12 keeps "boring"
    assert (neg["n_kept"], neg["n_pruned"], neg["test"]) == (1, 0, "n/a")
    assert neg["acc_kept"] == 1.0 and math.isnan(neg["acc_pruned"]) and math.isnan(neg["p_value"])
    # 10 keeps "Great" and is right; 13 prunes "excellent" at layer 2 and is wrong
    assert pos[["kept_correct", "kept_incorrect", "pruned_correct", "pruned_incorrect"]].tolist() == [1, 0, 0, 1]
    assert pos["test"] == "fisher" and pos["p_value"] == pytest.approx(1.0)
    assert (total["n_kept"], total["n_pruned"], total["class_id"]) == (2, 1, -1)
    assert total["p_value"] == pytest.approx(sps.fisher_exact([[2, 0], [0, 1]])[1])


def _synthetic(cells: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Class-1 examples, each with one class-1 domain term, filling a kept/pruned x correct table."""
    rows, gold_pred, i = [], {}, 0
    for cell, n in cells.items():
        depth = L - 1 if cell.startswith("kept") else 2
        pred = 1 if cell.endswith("_correct") else 0
        for _ in range(n):
            rows.append((i, "term", "NOUN", depth, False, "", 1, False, False))
            gold_pred[i] = (1, pred)
            i += 1
    return make_words(rows, gold_pred), make_examples(gold_pred)


def test_domain_retention_test_uses_chi_square_for_large_counts():
    cells = {"kept_correct": 40, "kept_incorrect": 10, "pruned_correct": 20, "pruned_incorrect": 30}
    words, examples = _synthetic(cells)
    out = stats.domain_retention_test(words, examples, LABELS, L).set_index("class")
    assert out.loc["pos", list(cells)].tolist() == list(cells.values())
    assert out.loc["pos", "test"] == "chi-square"
    assert out.loc["pos", "acc_kept"] == pytest.approx(0.8) and out.loc["pos", "acc_pruned"] == pytest.approx(0.4)
    chi2, p, _, _ = sps.chi2_contingency([[40, 10], [20, 30]], correction=True)
    assert out.loc["pos", "statistic"] == pytest.approx(chi2) and out.loc["pos", "p_value"] == pytest.approx(p)
    assert out.loc["neg", "test"] == "n/a" and out.loc["neg", "n_kept"] == 0


def test_domain_retention_test_bad_inputs(words, examples):
    with pytest.raises(ValueError, match="label_names"):
        stats.domain_retention_test(words, examples, [], L)
    with pytest.raises(ValueError, match="outside 0..0"):
        stats.domain_retention_test(words, examples, ["only"], L)
    with pytest.raises(ValueError, match="num_layers is 2"):
        stats.domain_retention_test(words, examples, LABELS, 2)
    with pytest.raises(ValueError, match="correct"):
        stats.domain_retention_test(words, examples.drop(columns="correct"), LABELS, L)


# --------------------------------------------------------------------------- summary


def test_summary_counts(words, examples):
    out = stats.summary_counts(words, examples, L)
    assert json.loads(json.dumps(out)) == out  # plain JSON types only
    assert (out["n_examples"], out["n_words"], out["num_layers"]) == (4, 12, 4)
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["mean_alive_per_layer"] == pytest.approx([6, 4, 2, 1])
    assert out["retention_by_pos"]["ADJ"] == pytest.approx([1, 1, 0.6, 0])
    assert out["retention_by_pos"]["PUNCT"] == pytest.approx([1, 0, 0, 0])
    assert out["retention_by_category"]["domain term"] == pytest.approx([1, 1, 0.5, 0])
    assert set(out["retention_by_category"]) == set(stats.CATEGORIES)


def test_summary_counts_bad_inputs(words, examples):
    with pytest.raises(ValueError, match="alive_3"):
        stats.summary_counts(words, examples.drop(columns="alive_3"), L)
    with pytest.raises(ValueError, match="empty"):
        stats.summary_counts(words, examples.iloc[:0], L)
    with pytest.raises(ValueError, match="DataFrame"):
        stats.summary_counts(words.to_dict(), examples, L)


# --------------------------------------------------------------------------- domain terms by layer


def test_domain_term_retention_by_group(words):
    got = stats.domain_term_retention(words, 1, L, LABELS)
    assert list(got.columns) == ["layer", "group", "words", "retained", "rate"]
    by = {g: part.sort_values("layer")["retained"].tolist() for g, part in got.groupby("group")}
    assert by == {"all": [3, 3, 1, 0], "in pos examples": [2, 2, 1, 0], "in other examples": [1, 1, 0, 0]}
    assert got.loc[(got["group"] == "all") & (got["layer"] == 3), "rate"].item() == pytest.approx(1 / 3)
    only_own = stats.domain_term_retention(words, 0, L)  # "boring" occurs only in a class-0 example
    assert set(only_own["group"]) == {"all", "in 0 examples"}
    assert stats.domain_term_retention(words, 5, L).empty
    with pytest.raises(ValueError, match="class_id"):
        stats.domain_term_retention(words, -1, L)
    with pytest.raises(ValueError, match="num_layers"):
        stats.domain_term_retention(words, 1, 2)  # depths go up to 3


def test_term_survival(words):
    got = stats.term_survival(words, ["great", "Excellent", "nope"], L)
    assert got["term"].tolist() == ["great", "excellent", "nope"]
    assert got["occurrences"].tolist() == [2, 1, 0]
    assert got["mean_depth"].iloc[0] == 2.5 and got["share_kept_last"].iloc[0] == 0.5
    assert got["share_kept_last"].iloc[1] == 0.0 and math.isnan(got["mean_depth"].iloc[2])
