"""The live page's model layer: a threshold what-if and top-k at the same FLOPs on the model's real
removal path, the median model time, the layer rows' words, and the examples stored with a
checkpoint. Tiny random BERT (conftest) with the MiniLM tokenizer; no real weights."""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from ltp.backbones import load_tokenizer
from ltp.model import LTPConfig, build_model
from ltp.flops import linear_schedule as linear_keep, profile_flops as counts_flops, topk_counts
from ltp.trace import (compare_rows, layer_rows, never_pruning_layers, prune_summary, same_flops_topk, threshold_text,
                       time_modes, trace)

APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))
from support import live_text, places, what_if  # noqa: E402

LABELS = ["a", "b", "c"]
TEXT = "the striker scored twice and the fans cheered the final whistle of a great season at home"


@pytest.fixture(scope="module")
def tok(tiny_backbone):
    return load_tokenizer(str(tiny_backbone))


@pytest.fixture(scope="module")
def model(tiny_backbone):
    torch.manual_seed(0)
    m = build_model(str(tiny_backbone), LABELS, LTPConfig(mode="hard", n_ref=32, length_half=None)).eval()
    return m


def run(model, tok, mode=None, **kw):
    return trace(model, tok, TEXT, 32, LABELS, "head", mode, **kw)


def median_thresholds(model, tok) -> list[float]:
    """Per layer the median score of the tokens entering it with pruning off: about half survive
    each layer (a tiny random model attends almost uniformly, so the learned ones keep all or none)."""
    off = run(model, tok, "none")
    return [0.0] + [statistics.median(off.layers[l].scores[1:]) for l in range(1, model.num_layers)]


# --------------------------------------------------------------------------- what-if thresholds


def test_whatif_at_the_learned_thresholds_is_the_learned_trace(model, tok):
    learned = run(model, tok, "hard")
    same = run(model, tok, thresholds=model.thresholds().tolist())
    assert same.mode == "hard"
    assert [lt.positions for lt in same.layers] == [lt.positions for lt in learned.layers]
    assert same.probabilities == pytest.approx(learned.probabilities, abs=1e-6) and same.flops == learned.flops


def test_whatif_thresholds_really_remove_tokens_and_leave_the_model_alone(model, tok):
    before = model.thresholds().clone()
    offsets, config = model.threshold_offsets, model.ltp_config
    wanted = median_thresholds(model, tok)
    tr = run(model, tok, thresholds=wanted)
    counts = [lt.count for lt in tr.layers]
    assert counts[0] == tr.input_tokens and counts[-1] < counts[1] < tr.input_tokens  # it does prune
    for l in range(1, model.num_layers):  # survivors: [CLS] and the tokens of layer l-1 scoring >= theta^l
        entering = tr.layers[l - 1].positions
        kept = {0} | {p for p in entering if tr.layers[l].scores[p] >= wanted[l] - 1e-6}
        assert set(tr.layers[l].positions) == kept, l
        assert tr.layers[l].threshold == pytest.approx(wanted[l], abs=1e-6)
    # really removed: the FLOPs as run are those of these counts, below the unpruned ones
    assert tr.flops == pytest.approx(counts_flops(tr.input_tokens, counts, model.hidden_size, model.intermediate_size))
    assert tr.flops < run(model, tok, "none").flops
    # the model itself is untouched (a cached model is shared by every session)
    assert torch.equal(model.thresholds(), before) and model.threshold_offsets is offsets
    assert model.ltp_config is config and config.topk_keep is None and config.mode == "hard"
    # stronger thresholds keep fewer tokens, 0 keeps every token
    harder = run(model, tok, thresholds=[2 * t for t in wanted])
    assert sum(lt.count for lt in harder.layers) < sum(counts)
    assert all(lt.count == tr.input_tokens for lt in run(model, tok, thresholds=[0.0] * model.num_layers).layers)


def test_whatif_bad_thresholds_say_what_to_pass(model, tok):
    with pytest.raises(ValueError, match="one finite number per layer"):
        run(model, tok, thresholds=[0.1])
    with pytest.raises(ValueError, match="one finite number per layer"):
        run(model, tok, thresholds=[0.0, math.nan, 0.1])
    with pytest.raises(ValueError, match="hard pruning"):
        run(model, tok, "none", thresholds=[0.0, 0.1, 0.1])


# --------------------------------------------------------------------------- top-k at the same FLOPs


def test_same_flops_topk_runs_the_models_topk_at_ltps_flops(model, tok):
    ltp = run(model, tok, thresholds=median_thresholds(model, tok))
    n, d, d_ff = ltp.input_tokens, model.hidden_size, model.intermediate_size
    keep = same_flops_topk(n, ltp.flops, model.num_layers, d, d_ff)
    tk = run(model, tok, topk_keep=keep)
    assert tk.mode == "topk" and tk.topk_keep == keep and all(lt.threshold is None for lt in tk.layers)
    counts = [lt.count for lt in tk.layers]
    assert counts == topk_counts(n, keep)  # the model kept exactly the counts asked for
    assert tk.flops == pytest.approx(counts_flops(n, counts, d, d_ff))  # and counted them as we do
    # no linear schedule comes closer to LTP's FLOPs on this input
    best = abs(tk.flops - ltp.flops)
    for slope in [i / 200 for i in range(201)]:
        assert abs(counts_flops(n, topk_counts(n, linear_keep(model.num_layers, slope)), d, d_ff) - ltp.flops) >= best - 1e-6
    assert model.ltp_config.topk_keep is None  # the shared model keeps its own config
    # top-k keeps the highest-scoring tokens of those entering each layer ([CLS] always)
    for l in range(1, model.num_layers):
        entering = tk.layers[l - 1].positions
        ranked = sorted((p for p in entering if p != 0), key=lambda p: -tk.layers[l].scores[p])
        assert set(tk.layers[l].positions) == {0, *ranked[:counts[l] - 1]}, l


@pytest.mark.parametrize("n", [9, 23, 57])
def test_same_flops_topk_comes_closest_of_all_linear_schedules(n):
    L, d, d_ff = 6, 384, 1536
    unpruned = counts_flops(n, [n] * L, d, d_ff)
    for ratio in (1.1, 1.37, 1.6, 2.05, 2.9):
        target = unpruned / ratio
        got = counts_flops(n, topk_counts(n, same_flops_topk(n, target, L, d, d_ff)), d, d_ff)
        grid = [counts_flops(n, topk_counts(n, linear_keep(L, i / 1000)), d, d_ff) for i in range(1001)]
        assert abs(got - target) <= min(abs(f - target) for f in grid) + 1e-6, (n, ratio)


def test_same_flops_topk_extremes(model, tok):
    # no pruning wanted: keep everything; more than top-k can save: the steepest schedule
    assert topk_counts(20, same_flops_topk(20, counts_flops(20, [20] * 4, 32, 64), 4, 32, 64)) == [20] * 4
    assert topk_counts(20, same_flops_topk(20, 0.0, 4, 32, 64)) == [20, 1, 1, 1]
    with pytest.raises(ValueError, match="one fraction per layer"):
        run(model, tok, topk_keep=[0.5])
    with pytest.raises(ValueError, match="top-k pruning"):
        run(model, tok, "hard", topk_keep=[1.0, 0.5, 0.5])


# --------------------------------------------------------------------------- the model time


def test_time_modes_interleaves_runs_and_the_summary_takes_their_median(model, tok):
    times = time_modes(model, tok, TEXT, 32, "head", ("hard", "none"), repeats=5)
    assert set(times) == {"hard", "none"} and all(len(v) == 5 and min(v) > 0 for v in times.values())
    hard, none = run(model, tok, "hard"), run(model, tok, "none")
    s = prune_summary(hard, none, {"hard": [0.001, 0.5, 0.002], "none": [0.004, 0.003, 0.2]})
    assert s["ms_hard"] == pytest.approx(2.0) and s["ms_none"] == pytest.approx(4.0)  # medians, not one run
    assert s["ms_hard_range"] == pytest.approx((1.0, 500.0)) and s["runs"] == 3
    with pytest.raises(ValueError, match="at least 1"):
        time_modes(model, tok, TEXT, 32, repeats=0)


# --------------------------------------------------------------------------- rows and words


def test_layer_rows_say_which_layers_never_prune_and_show_no_threshold_as_a_dash(model, tok):
    wanted = median_thresholds(model, tok)
    wanted[1] = -0.01  # below 0: no score can fall under it
    tr = run(model, tok, thresholds=wanted)
    assert never_pruning_layers(tr) == [2] and tr.layers[1].count == tr.input_tokens
    rows = layer_rows(tr)
    assert rows["pruning"].iloc[0].startswith("never prunes (the first layer")
    assert "below 0" in rows["pruning"].iloc[1] and rows["pruning"].iloc[2].startswith("removes tokens")
    assert [threshold_text(t) for t in rows["threshold"]][0] == "–"  # None in the frame, NaN in a column
    assert threshold_text(float("nan")) == "–" and threshold_text(0.0123) == "0.01230"
    table = compare_rows({"LTP": tr, "off": run(model, tok, "none")}, run(model, tok, "none"))
    assert table["run"].tolist() == ["LTP", "off"] and table["flops_reduction"].iloc[1] == pytest.approx(1.0)
    assert table["tokens_per_layer"].iloc[1] == " → ".join([str(tr.input_tokens)] * (model.num_layers + 1))


def test_scaled_thresholds_and_fit_text():
    assert what_if.scaled_thresholds([0.0, -0.01, 0.02], 2.0) == [0.0, -0.02, 0.04]
    assert what_if.scaled_thresholds([0.5, 0.01, 0.02], 0.0) == [0.5, 0.0, 0.0]
    assert live_text.fit_text("one two three", None) == ("one two three", False)
    assert live_text.fit_text("one two three", 9) == ("one two", True)
    assert live_text.example_label({"text": "a b c d e f g h i", "label": "X"}) == "a b c d e f g… (X)"
    assert live_text.reader_text("Inside Apple #39;s store, it #39;s \\$5 &amp; we #39;ll see") == \
        "Inside Apple's store, it's $5 & we'll see"
    assert live_text.reader_text("he said 'so' and 'sure'<br />ok") == "he said 'so' and 'sure' ok"


# --------------------------------------------------------------------------- examples


def test_read_examples_cleans_text_and_refuses_a_bad_file(tmp_path):
    from ltp.export import read_examples

    assert read_examples(tmp_path) == []
    (tmp_path / "examples.json").write_text(json.dumps({"examples": [
        {"text": "Oil hits \\$50 as OPEC#39;s talks stall &amp; <b>markets</b> wait", "label": "Business"},
        {"text": "Great<br /><br />film"}, {"text": "   "}]}))
    assert read_examples(tmp_path) == [{"text": "Oil hits $50 as OPEC's talks stall & markets wait", "label": "Business"},
                                       {"text": "Great film", "label": None}]
    (tmp_path / "examples.json").write_text('{"examples": ["just a string"]}')
    with pytest.raises(ValueError, match='"examples"'):
        read_examples(tmp_path)
    (tmp_path / "examples.json").write_text("{not json")
    with pytest.raises(ValueError, match="not readable JSON"):
        read_examples(tmp_path)
    examples, warning = live_text.live_examples(tmp_path)
    assert examples == [{"text": live_text.DEFAULT_SENTENCE, "label": None}] and "not readable JSON" in warning


def test_pick_examples_short_clean_one_per_class():
    from ltp.export import pick_examples

    texts = ["Stocks \\$1 fall#39;s today on Wall Street", "x " * 100 + ".", "The team won. " + "More words here " * 20,
             "Rain &amp; wind again"]
    out = pick_examples(texts, [0, 1, 1, 2], ["A", "B", "C"])
    assert [e["label"] for e in out] == ["A", "B", "C"]
    assert out[0]["text"] == "Stocks $1 fall's today on Wall Street" and out[2]["text"] == "Rain & wind again"
    assert len(out[1]["text"].split()) <= 40


@pytest.mark.parametrize("name,labels", [("ag_news-minilm-ltp", ["World", "Sports", "Business", "Sci/Tech"]),
                                         ("imdb-minilm-ltp", ["negative", "positive"])])
def test_shipped_models_store_examples_of_their_own_domain(name, labels):
    from ltp.export import read_examples
    from ltp.text import display_text

    path = Path(__file__).resolve().parents[1] / "models" / name
    examples = read_examples(path)
    assert 4 <= len(examples) <= 10 and {e["label"] for e in examples} == set(labels)  # every class
    assert all(e["text"] == display_text(e["text"]) and len(e["text"]) <= places.PUBLIC_MAX_CHARS for e in examples)
    has_study = live_text.DEFAULT_SENTENCE in [e["text"] for e in examples]
    assert has_study == (name == "imdb-minilm-ltp")  # the study's restaurant sentence is a review, not news
    assert examples[0]["text"] != live_text.DEFAULT_SENTENCE  # each opens on its own domain


def test_export_writes_test_examples_when_the_source_has_none(tmp_path, monkeypatch):
    from ltp import export

    cfg = {"dataset": {"name": "toy"}, "labels": ["A", "B"]}
    frame = pd.DataFrame({"text": ["the match ended#39;s level", "shares &amp; bonds fell"], "label": [0, 1]})
    monkeypatch.setattr("ltp.data.load_split", lambda name, split, data_dir=None: frame)
    assert export._test_examples(cfg, None) == [{"text": "the match ended's level", "label": "A"},
                                                 {"text": "shares & bonds fell", "label": "B"}]
    assert export._test_examples({"labels": ["A"]}, None) == []  # no data set named: none
    assert export.EXAMPLES in export.COPIED  # a source's own examples.json ships as it is


def test_live_runs_name_each_run_and_show_the_whatif_first(model, tok):
    from support.live_runs import RUN_NAMES, LiveRuns

    hard, none = run(model, tok, "hard"), run(model, tok, "none")
    runs = LiveRuns(pruned=hard, unpruned=none)
    assert list(runs.named()) == [RUN_NAMES["ltp"], RUN_NAMES["none"]] and runs.ltp is hard
    assert list(runs.layer_views()) == ["LTP", RUN_NAMES["none"]] and runs.ltp_name == RUN_NAMES["ltp"]
    runs.whatif, runs.topk = run(model, tok, "none"), run(model, tok, "none")
    assert list(runs.named()) == [RUN_NAMES[k] for k in ("ltp", "whatif", "topk", "none")]
    assert runs.ltp is runs.whatif and runs.ltp_name == RUN_NAMES["whatif"]
    assert list(runs.layer_views()) == ["LTP", RUN_NAMES["topk"], RUN_NAMES["none"]]
    assert runs.layer_views()["LTP"] is runs.whatif and not runs.own_topk


def test_whatif_layers_follow_the_model_card():
    card = {"thresholds": [None, 0.01, 0.02], "num_layers": 3}
    assert what_if.first_whatif_layer(card) == 2 and what_if.learned_thresholds(card) == [0.0, 0.01, 0.02]
    card = {"thresholds": [0.005, 0.01, 0.02], "num_layers": 3}
    assert what_if.first_whatif_layer(card) == 1 and what_if.learned_thresholds(card) == [0.005, 0.01, 0.02]
    assert what_if.learned_thresholds({"thresholds": [0.01], "num_layers": 3}) is None
