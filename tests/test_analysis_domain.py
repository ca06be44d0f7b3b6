"""Weighted log-odds with an informative Dirichlet prior on a corpus with an obvious answer."""

import numpy as np
import pytest

from ltp.analysis.domain import log_odds_z, term_classes, term_counts, top_terms


def corpus():
    sports = [["goal", "match", "team", "today"]] * 20 + [["goal", "coach", "today"]] * 10
    money = [["stock", "market", "shares", "today"]] * 20 + [["stock", "bank", "today"]] * 10
    return sports + money, [0] * 30 + [1] * 30


def test_obvious_terms_rank_first():
    docs, labels = corpus()
    z = log_odds_z(term_counts(docs, labels, 2), min_count=1)
    top = top_terms(z, ["Sports", "Business"], top_k=3)
    sports = top[top["class"] == 0]
    assert sports["term"].iloc[0] == "goal"  # most frequent exclusive word
    assert set(sports["term"]) == {"goal", "match", "team"}
    assert set(top[top["class"] == 1]["term"]) == {"stock", "market", "shares"}
    assert sports["rank"].tolist() == [1, 2, 3] and (sports["z"] > 0).all()
    # a word used equally by both classes is not distinctive
    today = z[(z["term"] == "today")]
    assert np.allclose(today["z"], 0.0, atol=1e-6)


def test_z_formula_by_hand():
    counts = term_counts([["a", "a", "b"], ["b"]], [0, 1], 2)
    z = log_odds_z(counts, prior_scale=1.0, min_count=1).set_index(["class", "term"])["z"]
    y = np.array([[2.0, 1.0], [0.0, 1.0]])  # class x (a, b)
    alpha = y.sum(0)
    a0 = alpha.sum()
    yi, yj = y[0], y[1]
    delta = np.log((yi + alpha) / (yi.sum() + a0 - yi - alpha)) - np.log((yj + alpha) / (yj.sum() + a0 - yj - alpha))
    expected = delta / np.sqrt(1 / (yi + alpha) + 1 / (yj + alpha))
    assert z[(0, "a")] == pytest.approx(expected[0], rel=1e-5)
    assert z[(0, "b")] == pytest.approx(expected[1], rel=1e-5)


def test_term_classes_takes_highest_z():
    import pandas as pd

    terms = pd.DataFrame({"class": [0, 1], "term": ["oil", "oil"], "z": [1.0, 3.0]})
    assert term_classes(terms) == {"oil": 1}


def test_bad_arguments():
    with pytest.raises(ValueError, match="top_k"):
        top_terms(log_odds_z([], min_count=1), ["a"], top_k=0)
    with pytest.raises(ValueError, match="prior_scale"):
        log_odds_z([], prior_scale=0)
