"""The trace of one text and its forms: the layer x token matrix, per-layer rows, the seen text,
the JSON and text forms of `ltp prune`."""

from __future__ import annotations

import json

import pytest

from ltp.trace import (LayerTrace, Trace, alive_masks, format_trace, heatmap_inputs, layer_rows, prune_summary,
                       seen_text, trace_json)


def _trace(text="ab cd", truncated=False) -> Trace:
    # tokens: [CLS] ab cd [SEP]; layer 1 keeps all, layer 2 drops "cd", layer 3 drops "ab" and [SEP]
    layers = [LayerTrace(1, 4, [0, 1, 2, 3], ["[CLS]", "ab", "cd", "[SEP]"], [0.3, 0.2, 0.1, 0.4], None),
              LayerTrace(2, 3, [0, 1, 3], ["[CLS]", "ab", "[SEP]"], [0.5, 0.3, 0.05, 0.2], 0.1),
              LayerTrace(3, 1, [0], ["[CLS]"], [0.9, 0.05, 0.0, 0.01], 0.2)]
    return Trace(text=text, tokens=["[CLS]", "ab", "cd", "[SEP]"], offsets=[(0, 0), (0, 2), (3, 5), (0, 0)],
                 special=[True, False, False, True], truncated=truncated, prediction="A",
                 probabilities={"A": 0.7, "B": 0.3}, layers=layers, flops=50.0, flops_unpruned=100.0,
                 seconds=0.002, mode="hard")


def test_trace_helpers():
    tr = _trace()
    assert alive_masks(tr) == [[True] * 4, [True, True, False, True], [True, False, False, False]]
    tokens, scores, thresholds, alive = heatmap_inputs(tr)
    assert tokens[1] == "ab" and thresholds == [None, 0.1, 0.2]
    assert scores[0] == [0.3, 0.2, 0.1, 0.4]
    assert scores[2] == [0.9, 0.05, None, 0.01]  # "cd" was gone before layer 3
    rows = layer_rows(tr)
    assert rows["tokens_alive"].tolist() == [4, 3, 1] and rows["pruned_here"].tolist() == [0, 1, 2]
    assert rows["surviving_tokens"].iloc[1] == "[CLS] ab [SEP]"
    s = prune_summary(tr, _trace())
    assert s["flops_reduction"] == 2.0 and s["flops_saved"] == 0.5 and s["ms_hard"] == pytest.approx(2.0)


def test_seen_text():
    assert seen_text(_trace("ab cd")) == ("ab cd", 0)
    assert seen_text(_trace("ab cd and much more", truncated=True)) == ("ab cd", 14)
    # head+tail: tokens "ab" and "cd" from both ends; the middle " and much more " was cut out
    tr = _trace("ab and much more cd", truncated=True)
    tr.offsets = [(0, 0), (0, 2), (17, 19), (0, 0)]
    assert seen_text(tr) == ("ab and much more cd", 15)


def test_json_and_text_forms():
    tr = _trace()
    data = json.loads(json.dumps(trace_json(tr)))
    assert data["input_tokens"] == 4 and data["mode"] == "hard"
    assert [lt["layer"] for lt in data["layers"]] == [1, 2, 3]  # numbered from 1
    assert data["layers"][1]["scores"] == [0.5, 0.3, 0.2]  # the survivors' scores only
    text = format_trace(tr).splitlines()
    assert text[0] == "input: 4 tokens (hard mode)" and text[1].startswith("layer  1     4 tokens  [no pruning]")
    assert "theta=0.10000" in text[2] and text[-1] == "FLOPs: 0.0 M of 0.0 M (2.00x fewer)"


def test_each_name_is_imported_from_its_home():
    """No re-export shim: a trace comes from ltp.trace, text handling from ltp.text, batches from ltp.inference."""
    import ltp.inference as inf
    import ltp.text as text
    import ltp.trace as trace_mod

    assert callable(trace_mod.trace) and trace_mod.Trace and callable(text.encode) and text.InputError
    for name in ("Trace", "trace", "encode", "InputError", "clean_html"):
        assert not hasattr(inf, name), name
    assert set(inf.__all__) == {"pad_batch", "length_sorted_batches", "Predictions", "predict", "score_texts"}
