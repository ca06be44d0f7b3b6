"""Clitics, news-source tags and POS names: what the word lists hide by default and how tags read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltp.analysis import stats

# One AG News-like text per example, as spaCy splits it (AG News writes "Association ' s").
TEXTS = {
    0: "Eriksson doesn ' t feel pressure NEWCASTLE ( AP ) - the Football Association ' s reputation",
    1: "LONDON ( Reuters ) Reuters - oil prices rose , it 's said , as traders told Reuters",
    2: "Google shares ( washingtonpost.com ) washingtonpost.com - Google 's search",
}


def make_words() -> pd.DataFrame:
    rows = [(ex, i, w) for ex, text in TEXTS.items() for i, w in enumerate(text.split())]
    df = pd.DataFrame(rows, columns=["example_id", "word_index", "text"])
    df["lower"] = df["text"].str.lower()
    df["depth"] = np.int16(3)
    df["is_stop"] = df["lower"].isin({"the", "it", "as", "doesn"})
    df["is_punct"] = df["lower"].isin({"(", ")", "-", ",", "'"})
    df["gold"] = df["pred"] = np.int16(0)
    df["domain_class"] = np.where(df["lower"].isin({"reuters", "oil"}), 0, -1).astype(np.int16)
    df.attrs["num_layers"] = 4
    return df.sample(frac=1.0, random_state=0)  # row order must not matter: neighbours follow word_index


def test_clitics_are_the_split_off_pieces_only():
    words = make_words()
    found = words.loc[stats.clitic_mask(words), ["example_id", "lower"]].sort_values(["example_id", "lower"])
    assert found.values.tolist() == [[0, "s"], [0, "t"], [1, "'s"], [2, "'s"]]


def test_source_tags_only_in_a_dateline():
    words = make_words()
    tags = words[stats.source_tag_mask(words)]
    assert sorted(tags["lower"]) == ["ap", "reuters", "reuters", "washingtonpost.com", "washingtonpost.com"]
    told = words[(words["example_id"] == 1) & (words["word_index"] == len(TEXTS[1].split()) - 1)]
    assert told["lower"].item() == "reuters" and not stats.source_tag_mask(words)[told.index].any()


def test_word_frequencies_hide_clitics_and_sources_when_asked():
    words = make_words()
    shown = stats.word_frequencies(words, top=None, exclude_stopwords=True)["word"].tolist()
    assert {"s", "'s", "ap"} <= set(shown)  # off by default: the library changes nothing unasked
    hidden = stats.word_frequencies(words, top=None, exclude_stopwords=True, exclude_clitics=True,
                                    exclude_sources=True)["word"].tolist()
    assert not {"s", "t", "'s", "ap", "washingtonpost.com"} & set(hidden)
    assert hidden.count("reuters") == 1  # "told Reuters" is kept
    assert hidden[0] == "google" and "oil" in hidden


def test_without_helpers_keep_attrs_and_other_words():
    words = make_words()
    kept = stats.without_clitics_and_sources(words)
    assert kept.attrs["num_layers"] == 4 and len(kept) == len(words) - 4 - 5
    only_clitics = stats.without_clitics_and_sources(words, sources=False)
    assert len(only_clitics) == len(words) - 4
    terms = stats.without_source_terms(words)
    assert set(terms.loc[terms["domain_class"] == 0, "lower"]) == {"oil"}  # reuters no longer a domain term
    assert list(stats.is_source_name(["AFP", "iraq", "ft.com"])) == [True, False, True]
    with pytest.raises(ValueError, match="word_index"):
        stats.clitic_mask(words.drop(columns="word_index"))


def test_pos_labels_spell_tags_out():
    assert stats.pos_label("ADP") == "ADP (preposition)" and stats.pos_label("PROPN") == "PROPN (proper noun)"
    assert stats.pos_label("X") == "X (other)" and stats.pos_label("FOO") == "FOO"
    assert set(stats.POS_ORDER) == set(stats.POS_NAMES)  # every tag in exactly one family
    assert len(stats.POS_ORDER) == len(set(stats.POS_ORDER))
