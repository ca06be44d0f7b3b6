"""Tokenising, truncation, batching and the per-layer trace."""

import pytest
import torch

from ltp.backbones import load_tokenizer
from ltp.model import build_model
from ltp.inference import length_sorted_batches, pad_batch, predict
from ltp.model import LTPConfig
from ltp.text import InputError, clean_text, encode
from ltp.trace import trace


@pytest.mark.parametrize("raw", ["Great movie.<br /><br />Really.", "a<br/>b<br>c<BR />d", "", "no tags &lt;b&gt;"])
def test_clean_text_blanks_line_breaks_and_keeps_offsets(raw):
    out = clean_text(raw)
    assert len(out) == len(raw)
    assert "<br" not in out.lower()
    assert out.replace(" ", "") == raw.replace(" ", "").replace("<br/>", "").replace("<br>", "").replace(
        "<br/>", "").replace("<BR/>", "")


@pytest.fixture(scope="module")
def tok(tiny_backbone):
    return load_tokenizer(str(tiny_backbone))


def test_encode_offsets_point_into_text(tok):
    text = "Movie night:<br />great fun!"
    enc = encode(tok, [text], max_length=32)
    ids, offs = enc.input_ids[0], enc.offsets[0]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    pieces = [text[a:b].lower() for a, b in offs[1:-1]]
    assert pieces[:3] == ["movie", "night", ":"] and "great" in pieces
    assert not enc.truncated[0]


def test_head_and_head_tail_truncation(tok):
    text = " ".join(f"w{i}" for i in range(100))
    head = encode(tok, [text], max_length=18, truncation="head")
    both = encode(tok, [text], max_length=18, truncation="head+tail")
    assert len(head.input_ids[0]) == len(both.input_ids[0]) == 18 and head.truncated[0]
    assert both.offsets[0][-2][1] == len(text)  # head+tail keeps the end of the text
    assert head.offsets[0][-2][1] < len(text) // 2
    assert text[head.offsets[0][1][0]:head.offsets[0][1][1]] == "w"
    with pytest.raises(ValueError, match="truncation"):
        encode(tok, [text], 18, truncation="middle")


def test_pad_batch_and_length_sorted_batches():
    ids, mask = pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    batches = list(length_sorted_batches([1, 5, 3, 4], 2))
    assert [b.tolist() for b in batches] == [[1, 3], [2, 0]]


def test_predict_keeps_input_order(tiny_backbone, tok):
    model = build_model(str(tiny_backbone), ["a", "b"], LTPConfig(mode="none", n_ref=32)).eval()
    texts = ["short", "a much longer text with many more words in it", "medium length text"]
    enc = encode(tok, texts, 32)
    p = predict(model, enc, tok.pad_token_id, batch_size=2)
    with torch.no_grad():
        for i, ids in enumerate(enc.input_ids):
            one = torch.softmax(model(torch.tensor([ids])).logits, -1)[0].numpy()
            assert p.probabilities[i] == pytest.approx(one, abs=1e-5)
    assert p.lengths.tolist() == [len(s) for s in enc.input_ids]


def test_trace_records_every_layer(tiny_backbone, tok):
    model = build_model(str(tiny_backbone), ["a", "b"], LTPConfig(mode="hard", n_ref=32, final_threshold=0.1)).eval()
    tr = trace(model, tok, "This is the best restaurant, and I will be returning.", 32, ["a", "b"])
    assert tr.tokens[0] == "[CLS]" and tr.special[0] and tr.special[-1]
    assert len(tr.layers) == 3 and tr.layers[0].threshold is None
    counts = [lt.count for lt in tr.layers]
    assert counts[0] == tr.input_tokens and counts == sorted(counts, reverse=True)
    assert all(0 in lt.positions for lt in tr.layers)
    assert tr.layers[-1].count < tr.input_tokens  # f = 0.1 prunes
    assert sum(tr.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert tr.layers[1].layer == 2
    with pytest.raises(InputError):
        trace(model, tok, "  ", 32, ["a", "b"])


@pytest.mark.parametrize("raw, expected", [
    ("it#39;s", "it'   s"),
    ("Tom &amp; Jerry", "Tom &     Jerry"),
    ("say quot;hi quot;", 'say "    hi "    '),
    ('see <a href="http://x.com/a">here</a>.', "see " + " " * 25 + "here" + " " * 4 + "."),
    ("&lt;b&gt;Bold&lt;/b&gt;", "<   b>   Bold<   /b>   ".replace("<   b>   ", "         ").replace("<   /b>   ", "          ")),
    ("5 &lt; 6 and a#39;b", "5 <    6 and a'   b"),
])
def test_clean_html_decodes_entities_blanks_tags_and_keeps_offsets(raw, expected):
    from ltp.text import clean_html

    out = clean_html(raw)
    assert len(out) == len(raw)
    assert out == expected
