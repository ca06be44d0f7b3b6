"""The live page ("Prune a sentence") under Streamlit's AppTest: the threshold what-if and its reset,
top-k at the same FLOPs, the median model time, presentation mode and its stepper, the charts'
text, the examples stored with a checkpoint and display-clean random examples.

Runs on the tiny trained checkpoint of conftest's `app_models` ("toy-tiny", 3 layers)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))
from support import live_text, places, what_if  # noqa: E402

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

HOME = APP / "Home.py"
TIMEOUT = 120


@pytest.fixture(scope="module")
def ckpt(app_models):
    from ltp.checkpoint import load_checkpoint

    return load_checkpoint(app_models["checkpoint"])


def start() -> AppTest:
    return AppTest.from_file(str(HOME), default_timeout=TIMEOUT).run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def layer_table(at: AppTest) -> str:
    tables = [h.value for h in at.get("html") if "ltp-layers" in h.value]
    assert len(tables) == 1
    return tables[0]


def layer_counts(at: AppTest) -> list[int]:
    rows = re.findall(r'data-layer="(\d+)" data-count="(\d+)"', layer_table(at))
    return [int(count) for layer, count in rows if layer != "0"]


def runs_table(at: AppTest) -> pd.DataFrame:
    return at.table[0].value


def tokens_of(tr) -> str:
    return " → ".join(str(c) for c in [tr.input_tokens] + [lt.count for lt in tr.layers])


def run(ck, text: str = live_text.DEFAULT_SENTENCE, mode: str | None = None, **kw):
    from ltp.trace import trace

    return trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, mode, **kw)


def learned(ck) -> list[float]:
    return ck.model.thresholds().tolist()


# --------------------------------------------------------------------------- what-if and top-k


def test_strength_reprunes_the_text_and_one_click_goes_back(app_env, ckpt):
    at = start()
    no_errors(at)
    assert list(runs_table(at).index) == ["LTP (learned)", "top-k, same FLOPs", "pruning off"]
    base = run(ckpt, mode="hard")
    assert layer_counts(at) == [lt.count for lt in base.layers]

    at.slider(key="whatif_strength").set_value(2.0).run()
    no_errors(at)
    want = run(ckpt, thresholds=what_if.scaled_thresholds(learned(ckpt), 2.0))
    table = runs_table(at)
    assert list(table.index) == ["LTP (learned)", "LTP (what-if)", "top-k, same FLOPs", "pruning off"]
    assert table.loc["LTP (what-if)", "tokens: input → layer 1 … L"] == tokens_of(want) != tokens_of(base)
    assert table.loc["LTP (what-if)", "prediction"] == want.prediction
    assert table.loc["LTP (what-if)", "FLOPs"] == f"{want.flops / 1e6:,.1f} M"
    assert layer_counts(at) == [lt.count for lt in want.layers]  # the layer table follows the what-if
    assert at.number_input(key="whatif_l2").value == pytest.approx(2 * learned(ckpt)[1], abs=1e-6)
    heat = json.loads(at.get("plotly_chart")[2].proto.spec)
    assert heat["layout"]["title"]["text"].startswith("LTP (what-if)")

    at.button(key="whatif_reset").click().run()
    no_errors(at)
    assert at.slider(key="whatif_strength").value == 1.0
    assert "LTP (what-if)" not in runs_table(at).index
    assert layer_counts(at) == [lt.count for lt in base.layers]


def test_a_per_layer_threshold_below_zero_never_prunes_and_says_so(app_env, ckpt):
    at = start()
    at.number_input(key="whatif_l2").set_value(-0.5).run()
    no_errors(at)
    wanted = learned(ckpt)
    wanted[1] = -0.5
    want = run(ckpt, thresholds=wanted)
    assert want.layers[1].count == want.input_tokens  # layer 2 kept every token
    assert layer_counts(at) == [lt.count for lt in want.layers]
    assert "threshold below 0: never prunes" in layer_table(at)
    assert any("Layer 2 never prunes" in c.value and "never negative" in c.value for c in at.caption)
    rows = at.dataframe[0].value
    first = "–" if not want.first_layer_prunes else f"{want.layers[0].threshold:.5f}"  # layer 1 shows one if it prunes
    assert rows["threshold"].iloc[0] == first and rows["threshold"].iloc[1] == "-0.50000"  # never 'None'
    assert "below 0" in rows["pruning"].iloc[1]


def test_topk_at_the_same_flops_runs_the_models_topk(app_env, ckpt):
    from ltp.trace import same_flops_topk

    at = start()
    hard = run(ckpt, mode="hard")
    m = ckpt.model
    keep = same_flops_topk(hard.input_tokens, hard.flops, m.num_layers, m.hidden_size, m.intermediate_size)
    topk = run(ckpt, mode="topk", topk_keep=keep)
    row = runs_table(at).loc["top-k, same FLOPs"]
    assert row["tokens: input → layer 1 … L"] == tokens_of(topk) and row["FLOPs"] == f"{topk.flops / 1e6:,.1f} M"
    at.segmented_control(key="prune_view").set_value("top-k, same FLOPs").run()
    no_errors(at)
    assert layer_counts(at) == [lt.count for lt in topk.layers]
    at.segmented_control(key="prune_view").set_value("pruning off").run()
    assert layer_counts(at) == [hard.input_tokens] * m.num_layers
    series = {t["name"]: t["y"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert series["top-k, same FLOPs"][1:] == [lt.count for lt in topk.layers]


def test_model_time_is_the_median_of_several_runs(app_env, monkeypatch):
    import ltp.trace

    calls = []

    def fake_time_modes(model, tokenizer, text, max_length, truncation, modes, repeats):
        calls.append((modes, repeats))
        return {modes[0]: [0.002, 0.090, 0.003, 0.001, 0.004], "none": [0.005, 0.006, 0.004, 0.200, 0.007]}

    monkeypatch.setattr(ltp.trace, "time_modes", fake_time_modes)
    at = start()
    at.text_area(key="prune_text").input("a text only this test times, so no cached timing answers").run()
    no_errors(at)
    assert not calls and "Model time (this input)" not in [m.label for m in at.metric]  # nothing timed unasked
    at.button(key="prune_time").click().run()
    metric = next(m for m in at.metric if m.label == "Model time (this input)")
    assert metric.value == "3.0 ms" and "-3.0 ms vs 6.0 ms unpruned" in metric.proto.delta  # medians, not means
    assert "Median of 5 forward passes" in metric.help
    assert calls and calls[-1] == (("hard", "none"), 7)
    at.text_area(key="prune_text").input("another text: its time is asked for anew").run()
    assert "Model time (this input)" not in [m.label for m in at.metric] and len(calls) == 1


# --------------------------------------------------------------------------- presentation mode


def test_presentation_mode_reveals_one_layer_at_a_time(app_env, ckpt):
    at = start()
    assert "ltp-present" not in layer_table(at) and "prune_step_next" not in [b.key for b in at.button]
    at.toggle(key="prune_present").set_value(True).run()
    no_errors(at)
    table = layer_table(at)
    assert 'class="ltp-layers ltp-present"' in table and "font-size:1.75rem" in table
    assert re.findall(r'data-layer="(\d+)"', table) == ["0"]  # the input only
    assert 'class="ltp-kept"' in table and "font-weight:700" in table  # high-contrast kept words
    at.button(key="prune_step_next").click().run()
    assert re.findall(r'data-layer="(\d+)"', layer_table(at)) == ["0", "1"]
    assert 'data-layer="1" data-count' in layer_table(at) and 'data-newest="1"' in layer_table(at)
    n = ckpt.model.num_layers
    at.select_slider(key="prune_step").set_value(n).run()
    table = layer_table(at)
    assert re.findall(r'data-layer="(\d+)"', table) == [str(i) for i in range(n + 1)]
    hard = run(ckpt, mode="hard")
    assert "Classification" in table and f"{hard.prediction} ({hard.probabilities[hard.prediction]:.0%})" in table
    for _ in range(n + 2):  # back to the input, never below it
        at.button(key="prune_step_back").click().run()
    assert re.findall(r'data-layer="(\d+)"', layer_table(at)) == ["0"]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["font"]["size"] >= 18  # large chart text too


def test_pruned_words_are_readable_and_charts_have_titles_and_large_text(app_env):
    at = start()
    no_errors(at)
    table = layer_table(at)
    assert "opacity" not in table and "ltp-pruned" in table and "line-through" in table
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 3
    for spec in charts:
        assert spec["layout"]["font"]["size"] >= 14
        assert spec["layout"]["xaxis"]["title"]["text"] and spec["layout"]["yaxis"]["title"]["text"]
    probs = charts[1]["data"]
    assert all(re.fullmatch(r"(<0\.1|\d+(\.\d)?)%", t) for bar in probs for t in bar["text"])  # short labels
    assert charts[1]["layout"]["bargroupgap"] > 0 and charts[1]["layout"]["uniformtext"]["mode"] == "hide"
    heat = charts[2]["data"][0]
    assert "threshold" in heat["colorbar"]["title"]["text"] and heat["zmid"] == 0


# --------------------------------------------------------------------------- examples


def _models_with_examples(tmp_path: Path, source: Path, examples: dict | str | None) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    for name, ex in (("a-with-examples", examples), ("b-without", None)):
        shutil.copytree(source, models / name)
        if ex is not None:
            (models / name / "examples.json").write_text(ex if isinstance(ex, str) else json.dumps(ex))
    return models


def test_each_checkpoint_opens_on_its_own_examples(app_env, tmp_path, monkeypatch):
    examples = {"examples": [{"text": "the striker scored twice", "label": "Sports"},
                             {"text": "Oil \\$80 as OPEC#39;s talks stall", "label": "Business"},
                             {"text": "a new chip is faster", "label": "Sci/Tech"}]}
    monkeypatch.setenv("LTP_MODELS_DIR", str(_models_with_examples(tmp_path, app_env["checkpoint"], examples)))
    at = start()
    no_errors(at)
    assert at.sidebar.selectbox(key="ckpt_choice").value.name == "a-with-examples"
    assert at.text_area(key="prune_text").value == "the striker scored twice"
    pills = at.pills(key="prune_example_pick")
    assert len(pills.options) == 3 and pills.options[1].startswith("Oil $80 as OPEC's")
    pills.set_value(1).run()
    no_errors(at)
    assert at.text_area(key="prune_text").value == "Oil $80 as OPEC's talks stall"  # display-clean
    assert at.pills(key="prune_example_pick").value is None  # the pill does not stay lit
    # another checkpoint without examples: its generic sentence replaces an example, not a typed text
    at.sidebar.selectbox(key="ckpt_choice").select_index(1).run()
    assert at.text_area(key="prune_text").value == live_text.DEFAULT_SENTENCE
    assert [b.key for b in at.get("button_group")] == ["prune_view"]  # one sentence: no example buttons
    at.text_area(key="prune_text").input("my own words about the league").run()
    at.sidebar.selectbox(key="ckpt_choice").select_index(0).run()
    assert at.text_area(key="prune_text").value == "my own words about the league"
    # a random test text is the page's choice too: the next checkpoint opens on its own example
    at.button(key="prune_random").click().run()
    assert any("Test example #" in c.value for c in at.caption)
    at.sidebar.selectbox(key="ckpt_choice").select_index(1).run()
    assert at.text_area(key="prune_text").value == live_text.DEFAULT_SENTENCE
    assert not any("Test example #" in c.value for c in at.caption)
    no_errors(at)


def test_a_malformed_examples_file_is_a_warning_not_a_traceback(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("LTP_MODELS_DIR", str(_models_with_examples(tmp_path, app_env["checkpoint"], "{oops")))
    at = start()
    no_errors(at)
    assert any("not readable JSON" in w.value and "generic sentence" in w.value for w in at.warning)
    assert at.text_area(key="prune_text").value == live_text.DEFAULT_SENTENCE


def _data_with_texts(tmp_path: Path, source: Path, texts: list[str]) -> Path:
    root = tmp_path / "data"
    shutil.copytree(source, root)
    pd.DataFrame({"text": texts, "label": [i % 3 for i in range(len(texts))]}).to_parquet(root / "toy" / "test.parquet")
    return root


def test_random_examples_are_shown_as_a_reader_sees_them(app_env, tmp_path, monkeypatch):
    raw = ["Oil hits \\$50 as OPEC#39;s talks stall &amp; markets wait", "Great film.<br /><br />Really great."]
    monkeypatch.setenv("LTP_DATA_DIR", str(_data_with_texts(tmp_path, app_env["data_dir"], raw)))
    at = start()
    seen = set()
    for _ in range(12):
        at.button(key="prune_random").click().run()
        no_errors(at)
        seen.add(at.text_area(key="prune_text").value)
        assert any("Test example #" in c.value for c in at.caption)
    assert seen <= {"Oil hits $50 as OPEC's talks stall & markets wait", "Great film. Really great."} and seen


def test_public_demo_cuts_a_long_random_example_to_its_limit(app_env, tmp_path, monkeypatch):
    long_review = "a long review " * 400  # 5,600 characters
    monkeypatch.setenv("LTP_DATA_DIR", str(_data_with_texts(tmp_path, app_env["data_dir"], [long_review] * 3)))
    monkeypatch.setenv("LTP_PUBLIC_DEMO", "1")
    at = start()
    at.button(key="prune_random").click().run()
    no_errors(at)
    value = at.text_area(key="prune_text").value
    assert at.text_area(key="prune_text").max_chars == places.PUBLIC_MAX_CHARS
    assert 0 < len(value) <= places.PUBLIC_MAX_CHARS and long_review.startswith(value)
    assert any("cut to the demo's text limit" in c.value for c in at.caption)


def test_a_topk_checkpoint_has_no_threshold_whatif_and_switching_to_it_is_clean(app_env, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(app_env["checkpoint"], models / "a-ltp")
    shutil.copytree(app_env["checkpoint"], models / "b-topk")
    cfg = json.loads((models / "b-topk" / "config.json").read_text())
    cfg["ltp"].update(mode="topk", topk_keep=[1.0, 0.5, 0.25])
    (models / "b-topk" / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("LTP_MODELS_DIR", str(models))
    at = start()
    at.slider(key="whatif_strength").set_value(2.0).run()
    at.segmented_control(key="prune_view").set_value("pruning off").run()
    at.sidebar.selectbox(key="ckpt_choice").select_index(1).run()
    no_errors(at)
    assert not at.slider and any("no learned thresholds" in c.value for c in at.caption)
    assert list(runs_table(at).index) == ["top-k (this checkpoint)", "pruning off"]
    assert at.segmented_control(key="prune_view").options == ["top-k", "pruning off"]
    at.segmented_control(key="prune_view").set_value("top-k").run()
    no_errors(at)
    heat = json.loads(at.get("plotly_chart")[2].proto.spec)["layout"]["yaxis"]["ticktext"]
    assert heat == ["1 (never prunes)", "2 (top-k, no threshold)", "3 (top-k, no threshold)"]
    at.sidebar.selectbox(key="ckpt_choice").select_index(0).run()  # and back: the learned thresholds again
    no_errors(at)
    assert at.slider(key="whatif_strength").value == 1.0


def test_the_live_page_runs_one_session_at_a_time(app_env, monkeypatch):
    """The live page's model calls and figures run under one server-wide lock (a forward pass
    slowed 10-30x while other sessions' scripts ran Python beside it: benchmarks/LOAD.md)."""
    import threading

    import dashboard

    held = []
    lock = threading.Lock()

    class Watched:
        def __enter__(self):
            lock.acquire()
            held.append(True)

        def __exit__(self, *exc):
            lock.release()
            return False

    monkeypatch.setattr(dashboard, "_live_page_lock", lambda: Watched())
    at = start()
    no_errors(at)
    assert held and not lock.locked() and layer_table(at)  # taken for the page, released after
