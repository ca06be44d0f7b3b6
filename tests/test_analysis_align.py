"""Offset alignment of spaCy words and word pieces, and the any-piece survival rule."""

import numpy as np
import pytest

from ltp.analysis.align import piece_depths, pieces_of_words, word_depths, word_of_pieces
from ltp.text import encode


@pytest.fixture(scope="module")
def tok(tiny_backbone):
    from ltp.backbones import load_tokenizer

    return load_tokenizer(str(tiny_backbone))


@pytest.fixture(scope="module")
def nlp():
    from ltp.analysis.bundle import load_spacy

    return load_spacy()


def align_text(text, tok, nlp):
    enc = encode(tok, [text], 64)
    doc = nlp(text)
    words = [t for t in doc if not t.is_space]
    spans = [(t.idx, t.idx + len(t.text)) for t in words]
    pieces = pieces_of_words(spans, enc.offsets[0])
    pieces_txt = tok.convert_ids_to_tokens(enc.input_ids[0])
    return [(w.text, [pieces_txt[p] for p in ps]) for w, ps in zip(words, pieces)]


def test_word_pieces_are_grouped_by_offsets(tok, nlp):
    got = dict(align_text("Unbelievably tokenizable words", tok, nlp))
    assert "".join(p.lstrip("#") for p in got["Unbelievably"]).lower() == "unbelievably"
    assert len(got["tokenizable"]) > 1  # split into several pieces, all assigned to the word


def test_punctuation_and_contractions(tok, nlp):
    got = align_text("I don't know, really!", tok, nlp)
    words = [w for w, _ in got]
    assert words == ["I", "do", "n't", "know", ",", "really", "!"]
    d = dict(got)
    # spaCy splits "do|n't", BERT "don|'|t": the piece "don" straddles both words, so it
    # counts for both (overlap, not position, decides)
    assert d["do"] == ["don"] and d["n't"] == ["don", "'", "t"]
    assert d[","] == [","] and d["!"] == ["!"]


def test_emoji_and_unknown_characters(tok, nlp):
    got = dict(align_text("great 😀 film", tok, nlp))
    assert got["great"] == ["great"] and got["film"] == ["film"]
    assert got["😀"] == ["[UNK]"]


def test_special_tokens_and_html_breaks_never_align(tok, nlp):
    from ltp.text import clean_text

    text = clean_text("Good.<br /><br />Bad.")
    got = align_text(text, tok, nlp)
    assert [w for w, _ in got] == ["Good", ".", "Bad", "."]
    assert all("[CLS]" not in ps and "[SEP]" not in ps for _, ps in got)


def test_overlap_sweep_by_hand():
    # pieces: [CLS] (0,0), "un" (0,2), "##able" (2,6), "," (6,7), "x" (8,9), [SEP] (0,0)
    pieces = [(0, 0), (0, 2), (2, 6), (6, 7), (8, 9), (0, 0)]
    words = [(0, 6), (6, 7), (8, 9), (10, 12)]
    assert pieces_of_words(words, pieces) == [[1, 2], [3], [4], []]
    owner = word_of_pieces(pieces_of_words(words, pieces), len(pieces))
    assert owner.tolist() == [-1, 0, 0, 1, 2, -1]


def test_any_piece_rule():
    # L = 3 layers, 4 pieces; alive after layer l (cascading)
    alive = np.array([[1, 1, 1, 1],
                      [1, 0, 1, 1],
                      [1, 0, 0, 1]], dtype=bool)
    d = piece_depths(alive)
    assert d.tolist() == [3, 1, 2, 3]
    # word A = pieces 1, 2 (depths 1 and 2) -> alive to layer 2; word B = piece 3 -> 3; word C none
    assert word_depths([[1, 2], [3], []], d).tolist() == [2, 3, 0]
