"""Every dashboard page under Streamlit's AppTest, on a tiny trained checkpoint with its bundle.

The app reads its models dir and data dir from LTP_MODELS_DIR / LTP_DATA_DIR; the fixture
`app_models` (conftest) puts one tiny checkpoint ("toy-tiny", 3 layers) with an analysis
bundle under a temporary models dir.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:  # the pages import the app's helpers as `support`, with app/ on sys.path
    sys.path.insert(0, str(APP))
from support.live_text import DEFAULT_SENTENCE  # noqa: E402

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

HOME = Path(__file__).resolve().parents[1] / "app" / "Home.py"
PAGES = ["views/prune.py", "views/score.py", "views/performance.py", "views/retained.py", "views/pos.py", "views/embedding.py",
         "views/domain.py", "views/about.py"]
TIMEOUT = 120


def start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def layer_counts(at: AppTest) -> list[int]:
    """The per-layer counts in the prune page's layer table (without the input row)."""
    tables = [h.value for h in at.get("html") if "ltp-layers" in h.value]
    assert len(tables) == 1
    rows = re.findall(r'data-layer="(\d+)" data-count="(\d+)"', tables[0])
    return [int(count) for layer, count in rows if layer != "0"]


def trace_counts(ckpt_path: Path, text: str, mode: str = "hard") -> list[int]:
    from ltp.checkpoint import load_checkpoint
    from ltp.trace import trace

    ck = load_checkpoint(ckpt_path)
    tr = trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, mode)
    return [lt.count for lt in tr.layers]


def charts_of(at: AppTest) -> list:
    return at.get("plotly_chart")


# --------------------------------------------------------------------------- shell


def test_home_lists_the_pages_and_the_model_card(app_env):
    at = start()
    no_errors(at)
    assert at.sidebar.selectbox(key="ckpt_choice").value.name == "toy-tiny"
    card = " ".join(m.value for m in at.sidebar.markdown)
    assert "toy" in card and "3 layers" in card and "Accuracy" in card
    assert at.title[0].value == "Prune a sentence"  # the landing page


def test_every_page_renders_without_error(app_env):
    at = start()
    for page in PAGES:
        at.switch_page(page).run()
        no_errors(at)
        assert at.title, page
        if page not in ("views/about.py", "views/score.py"):  # score: nothing to download before an upload
            assert at.get("download_button"), f"{page}: tables come with a CSV download"
        for chart in charts_of(at):  # the PNG export of the mode bar stays on
            assert '"toImageButtonOptions"' in chart.proto.config and "displayModeBar" not in chart.proto.config


def test_no_model_names_the_train_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LTP_MODELS_DIR", str(tmp_path / "empty"))
    at = start()
    assert not at.exception
    assert any("ltp train" in i.value for i in at.info)
    at.switch_page("views/performance.py").run()
    assert any("ltp train" in i.value for i in at.info)


def test_a_path_that_is_not_a_checkpoint_shows_the_error(app_env, tmp_path):
    at = start()
    at.sidebar.text_input(key="ckpt_path").input(str(tmp_path)).run()
    assert not at.exception
    assert any("not an ltp-lens checkpoint" in e.value for e in at.error)
    at.sidebar.text_input(key="ckpt_path").input(str(tmp_path / "missing")).run()
    assert any("does not exist" in e.value for e in at.error)
    at.sidebar.text_input(key="ckpt_path").input(str(app_env["checkpoint"])).run()  # a good path works
    no_errors(at)
    assert layer_counts(at)


# --------------------------------------------------------------------------- prune a sentence


def test_prune_page_counts_match_trace_and_follow_the_text(app_env):
    at = start()
    no_errors(at)
    assert at.text_area(key="prune_text").value == DEFAULT_SENTENCE
    expected = trace_counts(app_env["checkpoint"], DEFAULT_SENTENCE)
    assert layer_counts(at) == expected
    assert len(charts_of(at)) == 3  # tokens alive, probabilities, heat map
    labels = [m.label for m in at.metric]
    assert "Prediction with LTP" in labels and "FLOPs" in labels
    assert "Model time (this input)" not in labels  # timed on request only (it costs 14 forward passes)
    at.button(key="prune_time").click().run()
    labels = [m.label for m in at.metric]
    assert at.metric[labels.index("Model time (this input)")].value.endswith(" ms")

    other = "stocks fell on wall street as the bank raised interest rates again and again today"
    at.text_area(key="prune_text").input(other).run()
    no_errors(at)
    assert layer_counts(at) == trace_counts(app_env["checkpoint"], other) != expected
    layers = at.dataframe[0].value
    assert layers["tokens_alive"].tolist() == layer_counts(at)


def test_int8_toggle_runs_the_quantized_model(app_env):
    """The sidebar's int8 toggle: the live page runs the checkpoint with int8 linears (same counts as a
    quantized trace outside the app), and says so."""
    from ltp.checkpoint import load_checkpoint
    from ltp.quantize import apply_quantization
    from ltp.trace import trace

    at = start()
    at.sidebar.toggle(key="ckpt_int8").set_value(True).run()
    no_errors(at)
    assert any("int8 linear layers" in c.value for c in at.caption)
    ck = load_checkpoint(app_env["checkpoint"])
    apply_quantization(ck.model, "int8")
    tr = trace(ck.model, ck.tokenizer, DEFAULT_SENTENCE, ck.max_length, ck.label_names, ck.truncation, "hard")
    assert layer_counts(at) == [lt.count for lt in tr.layers]
    spec = json.loads(charts_of(at)[1].proto.spec)  # the probabilities chart: the int8 model's numbers
    assert spec["data"][0]["y"] == list(tr.probabilities.values())
    fp32 = load_checkpoint(app_env["checkpoint"])
    ref = trace(fp32.model, fp32.tokenizer, DEFAULT_SENTENCE, fp32.max_length, fp32.label_names, fp32.truncation, "hard")
    assert list(ref.probabilities.values()) != spec["data"][0]["y"]  # int8 answers differ in the digits
    at.sidebar.toggle(key="ckpt_int8").set_value(False).run()
    assert not any("int8 linear layers" in c.value for c in at.caption)


def test_prune_page_random_example(app_env):
    at = start()
    at.button(key="prune_random").click().run()
    no_errors(at)
    from ltp import data

    texts = set(data.load_split("toy", "test", app_env["data_dir"])["text"])
    assert at.text_area(key="prune_text").value in texts
    assert any("Test example #" in c.value for c in at.caption)


def test_prune_page_without_data_names_the_prepare_command(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("LTP_DATA_DIR", str(tmp_path / "no-data"))
    at = start()
    no_errors(at)
    assert "prune_random" not in [b.key for b in at.button]
    assert any("ltp data prepare toy" in c.value for c in at.caption)


def test_prune_page_bad_inputs(app_env):
    at = start()
    at.text_area(key="prune_text").input("   ").run()
    assert not at.exception and any("empty" in w.value for w in at.warning)
    assert not at.get("html")

    at.text_area(key="prune_text").input("word " * 4000).run()  # 20,000 characters
    no_errors(at)
    assert any("longer than the model's max length" in i.value for i in at.info)
    assert layer_counts(at)[0] == 24  # max length of the tiny model

    cases = [("<script>alert(1)</script> 😀 שלום \x07 end", "&lt;script&gt;alert(1)&lt;/script&gt;"),
             ("<img src=x onerror=alert(2)>", "&lt;img src=x onerror=alert(2)&gt;")]
    for nasty, escaped in cases:
        at.text_area(key="prune_text").input(nasty).run()
        no_errors(at)
        table = next(h.value for h in at.get("html") if "ltp-layers" in h.value)
        assert "<script" not in table and "<img" not in table
        shown = re.sub(r"<[^>]+>", "", table)  # the text content, still escaped
        assert escaped in shown
    at.text_area(key="prune_text").input("<script>alert(1)</script> 😀 שלום \x07 end").run()
    shown = re.sub(r"<[^>]+>", "", next(h.value for h in at.get("html") if "ltp-layers" in h.value))
    assert "😀" in shown and "שלום" in shown and "\u2407" in shown  # the bell shown as its control picture


# --------------------------------------------------------------------------- performance


def test_performance_page(app_env):
    at = start("views/performance.py")
    no_errors(at)
    labels = [m.label for m in at.metric]
    assert "Accuracy (LTP)" in labels and "FLOPs reduction (honest)" in labels
    metrics = at.dataframe[0].value
    assert metrics["Model"].tolist() == ["this model, pruning off", "LTP (hard pruning)"]
    assert "FLOPs, all tokens" in metrics.columns
    assert not [c for c in metrics.columns if "_" in c or "/s" in c]  # human names, no evaluate examples/s
    views = at.dataframe[1].value  # the short inputs: first sentence, first 12 words
    assert views["Short view"].tolist() == ["first sentence", "first 12 words"]
    assert {"Acc. pruning off", "Acc. pruning on", "FLOPs reduction"} <= set(views.columns)
    for df in at.dataframe:
        assert not [c for c in df.value.columns if "_" in str(c)], df.value.columns  # no snake_case header
    assert any("precision" in c.value and "recall" in c.value for c in at.code)  # the classification report
    assert any("sweep results are not stored" in i.value for i in at.info)
    assert any("ltp bench --checkpoint" in i.value for i in at.info)
    assert len(charts_of(at)) >= 3  # confusion matrix, tokens alive, thresholds
    assert any("never prunes" in c.value for c in at.caption)  # negative thresholds explained


def test_performance_page_with_sweep_and_without_metrics(app_env, tmp_path, monkeypatch):
    import json

    models = tmp_path / "models"
    ck = models / "copy"
    shutil.copytree(app_env["checkpoint"], ck)
    (ck / "metrics.json").unlink()
    (ck / "sweep.json").write_text(json.dumps([
        {"method": "LTP", "label": "lambda=0.1", "accuracy": 0.9, "f1": 0.9, "flops_reduction": 2.0, "speedup": 1.4},
        {"method": "top-k", "label": "k", "accuracy": 0.8, "f1": 0.8, "flops_reduction": 2.0, "speedup": 1.3}]))
    monkeypatch.setenv("LTP_MODELS_DIR", str(models))
    at = start("views/performance.py")
    no_errors(at)
    assert any("--mode both" in i.value for i in at.info)
    assert any(len(c.proto.spec) and '"top-k"' in c.proto.spec for c in charts_of(at))
    assert not any('"star"' in c.proto.spec for c in charts_of(at))  # no pruned result: nothing to mark
    sweep = at.dataframe[-1].value
    assert "Method" in sweep.columns and not [c for c in sweep.columns if "speed" in c.lower()]


def _report(*ckpts: Path) -> str:
    """What `ltp report --details` prints for the checkpoints."""
    import subprocess

    out = subprocess.run([sys.executable, "-m", "ltp.cli", "report", *map(str, ckpts), "--details"],
                         capture_output=True, text=True, timeout=300, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    return out.stdout


def _report_row(report: str, ckpt: Path) -> dict:
    """The main results table's row of one checkpoint, by its header's cells."""
    lines = [line for line in report.splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    row = next(line for line in lines if f"`{ckpt}`" in line)
    return dict(zip(head, [c.strip() for c in row.strip("|").split("|")]))


def _page_numbers(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


SHIPPED = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("name", ["ag_news-minilm-ltp", "imdb-minilm-ltp"])
def test_performance_page_agrees_with_ltp_report_on_the_shipped_models(name, monkeypatch):
    ckpt = SHIPPED / name
    if not (ckpt / "metrics.json").is_file() or not (ckpt / "bench.json").is_file():
        pytest.skip(f"{ckpt} has no stored metrics and bench")
    monkeypatch.setenv("LTP_MODELS_DIR", str(SHIPPED))
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT).run()
    at.sidebar.selectbox(key="ckpt_choice").set_value(ckpt).run()
    at.switch_page("views/performance.py").run()
    no_errors(at)
    report = _report(Path("models") / name)
    row = _report_row(report, Path("models") / name)
    page = _page_numbers(at)
    acc, f1 = row["LTP acc / F1"].split(" / ")
    assert page["Accuracy (LTP)"] == acc and page["Macro F1"] == f1
    honest, all_tokens = row["FLOPs reduction, honest (all tokens)"].replace(")", "").split(" (")
    assert page["FLOPs reduction (honest)"] == honest
    assert page["Measured speed-up"] == row["CPU speed-up (bs 32 / bs 1)"].split(" / ")[0]
    base_acc = float(row["baseline acc / F1"].split(" / ")[0])
    assert f"{float(acc) - base_acc:+.4f}" in " ".join(str(m.delta) for m in at.metric)
    metrics = at.dataframe[0].value.set_index("Model")
    assert f"{metrics.loc['LTP (hard pruning)', 'FLOPs, all tokens']:.2f}x" == all_tokens
    assert f"{metrics.loc['baseline (fine-tuned, no LTP)', 'Accuracy']:.4f}" == f"{base_acc:.4f}"
    shown = " ".join(m.value for m in at.markdown)
    for table_line in (line for line in report.split("speed (cpu)")[1].split("####")[0].splitlines()
                       if line.startswith("| throughput")):
        assert table_line in shown  # the bench table is the report's own
    sources = " ".join(c.value for c in at.caption)
    assert "`ltp bench` · CPU" in sources and "threads" in sources and "batch 32" in sources
    stored_date = json.loads((ckpt / "bench.json").read_text())["cpu"].get("measured_at")
    assert (stored_date or "date not recorded") in sources
    stars = [c.proto.spec for c in charts_of(at) if '"star"' in c.proto.spec]
    if (ckpt / "sweep.json").is_file():  # the shipped point sits at the report's FLOPs in the sweep's count
        assert len(stars) == 1
        spec = json.loads(stars[0])
        star = next(t for t in spec["data"] if t.get("marker", {}).get("symbol") == "star")
        # the first release's sweep counted all tokens, the reship's is honest: the star follows the sweep
        points = json.loads((ckpt / "sweep.json").read_text())["points"]
        honest_sweep = any(p.get("flops_reduction_all_tokens") is not None for p in points)
        assert f"{star['x'][0]:.2f}x" == (honest if honest_sweep else all_tokens) and f"{star['y'][0]:.4f}" == acc


def test_about_page_states_the_stored_numbers(monkeypatch):
    ckpt = SHIPPED / "imdb-minilm-ltp"
    if not (ckpt / "bench.json").is_file():
        pytest.skip(f"{ckpt} has no stored bench")
    monkeypatch.setenv("LTP_MODELS_DIR", str(SHIPPED))
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT).run()
    at.sidebar.selectbox(key="ckpt_choice").set_value(ckpt).run()
    at.switch_page("views/about.py").run()
    no_errors(at)
    text = " ".join(m.value for m in at.markdown)
    row = _report_row(_report(Path("models") / "imdb-minilm-ltp"), Path("models") / "imdb-minilm-ltp")
    speedup = row["CPU speed-up (bs 32 / bs 1)"].split(" / ")[0]
    honest = row["FLOPs reduction, honest (all tokens)"].split(" (")[0]
    assert f"**{speedup}**" in text and f"**{honest}**" in text
    # the verdict follows the stored numbers (first release: 1.99x faster for 1.73x fewer FLOPs, "more
    # than"; the reship: 3.21x for 3.50x, "less than"), within 5% "about as much as"
    ratio = float(speedup.rstrip("x")) / float(honest.rstrip("x"))
    verdict = "less than" if ratio < 0.95 else "more than" if ratio > 1.05 else "about as much as"
    assert f"shrank **{verdict}** FLOPs" in text
    assert "Measured time shrinks less than that" not in text


# --------------------------------------------------------------------------- data-set pages


def test_retained_page_filters_change_the_tables(app_env):
    at = start("views/retained.py")
    no_errors(at)
    assert at.get("imgs") or at.get("image")  # word clouds
    last = at.dataframe[0].value.copy()
    assert list(last.columns) == ["Word", "Occurrences", "Share"]
    at.slider(key="ret_layer").set_value(1).run()
    no_errors(at)
    first = at.dataframe[0].value
    assert first["Occurrences"].sum() >= last["Occurrences"].sum() and not first.equals(last)
    assert any("layer 1 never prunes" in i.value for i in at.info)

    at.selectbox(key="ret_class").set_value(0).run()
    at.radio(key="ret_cell").set_value("TP").run()
    no_errors(at)
    assert not at.dataframe[0].value.equals(first)
    assert any("Texts counted: TP" in c.value for c in at.caption)  # the cell in words

    at.text_input(key="ret_word").input("the").run()
    no_errors(at)
    assert "Occurrences" in [m.label for m in at.metric]
    at.text_input(key="ret_word").input("zzzz").run()
    assert any("does not occur" in i.value for i in at.info)


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """{file name: the DataFrame its CSV download serves}, recorded from the pages' download helper."""
    import dashboard

    served, original = {}, dashboard.download

    def record(df, name, *args, **kwargs):
        served[f"{name}.csv"] = df.copy()
        return original(df, name, *args, **kwargs)

    monkeypatch.setattr(dashboard, "download", record)
    return served


def test_retained_downloads_are_named_by_class_and_record_their_filters(app_env, downloads):
    from support import csv_export

    at = start("views/retained.py")
    names = json.loads((app_env["checkpoint"] / "config.json").read_text())["labels"]
    at.selectbox(key="ret_class").set_value(1).run()
    at.radio(key="ret_cell").set_value("FN").run()
    no_errors(at)
    want = f"retained-words_{csv_export.file_slug(names[1])}_FN_layer-2_no-stopwords_no-clitics-or-tags.csv"
    assert want in downloads, sorted(downloads)
    csv = downloads[want]
    assert csv["Class"].unique().tolist() == [names[1]] and csv["Confusion cell"].unique().tolist() == ["FN"]
    assert csv["Layer"].unique().tolist() == [2] and csv["Clitics and source tags"].unique().tolist() == ["hidden"]
    assert {"Word", "Occurrences", "Share"} <= set(csv.columns)
    assert not [n for n in downloads if "_1_" in n or n.endswith("-1.csv")]  # never named by a class index


def test_retained_page_hides_clitics_and_agency_tags_by_default(monkeypatch):
    ckpt = SHIPPED / "ag_news-minilm-ltp"
    if not (ckpt / "analysis" / "summary.json").is_file():
        pytest.skip(f"{ckpt} has no analysis bundle")
    monkeypatch.setenv("LTP_MODELS_DIR", str(SHIPPED))
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT).run()
    at.sidebar.selectbox(key="ckpt_choice").set_value(ckpt).run()
    at.switch_page("views/retained.py").run()
    at.selectbox(key="ret_class").set_value(1).run()  # Sports: "ap" and "s" topped it
    no_errors(at)
    top = at.dataframe[0].value["Word"].tolist()
    at.toggle(key="ret_hide_tags").set_value(False).run()
    no_errors(at)
    raw = at.dataframe[0].value["Word"].tolist()  # what the issue saw ("ap" and "s" on top), one click away
    assert {"s", "ap", "reuters", "afp"} & set(raw[:5]) and not {"s", "ap", "reuters", "afp"} & set(top)
    assert top[:5] == [w for w in raw if w not in {"s", "ap", "reuters", "afp"}][:5]  # the rest keeps its order


def test_pos_page_layer_slider(app_env):
    at = start("views/pos.py")
    no_errors(at)
    before = at.dataframe[0].value.copy()
    at.slider(key="pos_layer").set_value(3).run()
    no_errors(at)
    assert not at.dataframe[0].value.equals(before)
    assert len(charts_of(at)) == 2
    table = at.dataframe[0].value
    assert list(table.columns) == ["Class", "Part of speech", "Status", "Words", "Share"]
    assert "NOUN (noun)" in set(table["Part of speech"])  # tags spelled out
    assert '"NOUN (noun)"' in charts_of(at)[0].proto.spec
    at.toggle(key="pos_hide_tags").set_value(False).run()
    no_errors(at)


def test_embedding_page_colours_and_recompute(app_env):
    at = start("views/embedding.py")
    no_errors(at)
    spec = json.loads(charts_of(at)[0].proto.spec)
    assert spec["data"][0]["type"] == "scattergl" and "context" in spec["data"][0]["hovertemplate"]
    # every colouring travels with the figure: its buttons recolour the map in the browser
    buttons = spec["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["gold class", "predicted class", "correctness", "part of speech"]
    pos = buttons[3]["args"]
    assert pos[1]["title.text"].endswith("coloured by part of speech")
    assert "NOUN" in [t.get("name") for t in spec["data"]] and not at.radio  # POS legend entries; no rerun needed
    # the example map says how many of the analysed examples it shows (a strongly pruned model keeps
    # no word piece of most texts to the last layer, and those have no point)
    from ltp.analysis.bundle import load_bundle

    bundle = load_bundle(app_env["checkpoint"] / "analysis")
    shown, total = len(bundle.example_embeddings), bundle.summary["meta"]["examples"]
    assert any(f"{shown:,} of the {total:,} analysed examples" in c.value for c in at.caption)
    at.slider(key="emb_slider_token_embeddings").set_value(6).run()
    at.button(key="emb_recompute_token_embeddings").click().run()
    no_errors(at)
    assert any("recomputed with perplexity 6" in c.value for c in at.caption)


def test_domain_page(app_env):
    at = start("views/domain.py")
    no_errors(at)
    labels = [m.label for m in at.metric]
    assert "p-value" in labels and any(label.startswith("Test statistic") for label in labels)
    terms = at.dataframe[0].value
    assert {"Term", "z-score", "Occurrences", "Reaches last layer"} <= set(terms.columns)
    for df in at.dataframe:
        assert not [c for c in df.value.columns if "_" in str(c)], df.value.columns  # no snake_case header
    assert any("z-score" in c.value and "standard errors" in c.value for c in at.caption)  # z explained
    at.selectbox(key="dom_class").set_value(1).run()
    no_errors(at)
    assert not at.dataframe[0].value.equals(terms)


def test_dataset_pages_without_bundle_offer_to_compute_it(app_env, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(app_env["checkpoint"], models / "nobundle", ignore=shutil.ignore_patterns("analysis"))
    monkeypatch.setenv("LTP_MODELS_DIR", str(models))
    at = start("views/retained.py")
    no_errors(at)
    assert any("no analysis bundle" in i.value for i in at.info)
    at.number_input(key="analysis_limit").set_value(10).run()
    at.button(key="analysis_run").click().run()
    no_errors(at)
    assert (models / "nobundle" / "analysis" / "summary.json").is_file()
    assert at.title[0].value == "Retained tokens" and at.dataframe  # the page now shows the analysis

    monkeypatch.setenv("LTP_DATA_DIR", str(tmp_path / "no-data"))
    shutil.rmtree(models / "nobundle" / "analysis")
    at = start("views/domain.py")
    no_errors(at)
    code = " ".join(c.value for c in at.code)
    assert "ltp data prepare toy" in code and f"ltp analyze --checkpoint {models / 'nobundle'}" in code


# --------------------------------------------------------------------------- score a file


def test_score_page_scores_an_uploaded_csv(app_env):
    texts = ["the striker scored twice", "", "oil prices hit a record", "the new chip is faster"]
    csv = pd.DataFrame({"id": [1, 2, 3, 4], "Review": texts}).to_csv(index=False).encode()
    at = start("views/score.py")
    no_errors(at)
    at.file_uploader(key="score_upload").set_value(("tickets.csv", csv, "text/csv")).run()
    no_errors(at)
    assert at.selectbox(key="score_column").value == "Review"  # found by its usual name
    assert any("1 empty rows skipped" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert table["row"].tolist() == [1, 3, 4] and table["text"].tolist() == [t for t in texts if t]
    from ltp.checkpoint import load_checkpoint
    from ltp.inference import score_texts

    want = score_texts(load_checkpoint(app_env["checkpoint"]), [t for t in texts if t])
    assert table["prediction_pruned"].tolist() == want["prediction_pruned"].tolist()
    assert table["alive_after_layer_3"].tolist() == want["alive_after_layer_3"].tolist()
    assert (table["flops_reduction"] >= 1).all() and "agree" in table
    assert [b.label for b in at.get("download_button")] == ["Download CSV"]
    at.run()  # a rerun (what a download click does) shows the same table from the session, no error
    no_errors(at)
    assert at.dataframe[0].value["text"].tolist() == table["text"].tolist()


def test_score_page_bad_files(app_env):
    at = start("views/score.py")
    at.file_uploader(key="score_upload").set_value(("x.csv", b"text,label\n", "text/csv")).run()
    assert not at.exception and [e.value for e in at.error] == [
        "The file has no rows. It needs a header row and one text per row."]
    csv = pd.DataFrame({"a": ["", " "], "b": ["x", "y"]}).to_csv(index=False).encode()
    at = start("views/score.py")
    at.file_uploader(key="score_upload").set_value(("x.csv", csv, "text/csv")).run()
    assert not at.exception and "empty in every row" in at.error[0].value


# --------------------------------------------------------------------------- public demo


def _all_text(at: AppTest) -> str:
    """Every string a visitor can read on the page: text elements, widget labels and help, tables."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "code", "title", "subheader", "header",
                 "text", "latex", "metric"):
        for el in at.get(kind):
            parts += [str(getattr(el, a, "")) for a in ("value", "label", "body")]
    for el in at.get("dataframe"):
        parts.append(el.value.to_csv())
    for kind in ("selectbox", "button", "slider", "text_area", "toggle", "file_uploader"):
        for el in at.get(kind) + at.sidebar.get(kind):
            parts += [str(getattr(el, "label", "")), str(getattr(el, "help", "") or "")]
    parts += [str(m.value) for m in at.sidebar.markdown] + [str(c.value) for c in at.sidebar.caption]
    return "\n".join(parts)


def test_public_demo_shows_no_server_path_and_no_path_box(app_env, monkeypatch):
    monkeypatch.setenv("LTP_PUBLIC_DEMO", "1")
    at = start()
    assert not at.sidebar.text_input  # no free path box: a visitor cannot probe the server's folders
    secret = [str(app_env["models_dir"]), str(app_env["data_dir"]), str(Path(__file__).resolve().parents[1]), "/tmp/"]
    for page in PAGES:
        at.switch_page(page).run()
        no_errors(at)
        shown = _all_text(at)
        assert not [s for s in secret if s in shown], (page, [s for s in secret if s in shown])
    at.switch_page("views/embedding.py").run()
    assert all(b.disabled for b in at.button if b.label == "Recompute")  # heavy actions off
    at.switch_page("views/prune.py").run()
    assert at.text_area(key="prune_text").max_chars == 2000  # input size bounded


def test_public_demo_does_not_offer_the_analysis(app_env, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(app_env["checkpoint"], models / "nobundle", ignore=shutil.ignore_patterns("analysis"))
    monkeypatch.setenv("LTP_MODELS_DIR", str(models))
    monkeypatch.setenv("LTP_PUBLIC_DEMO", "1")
    at = start("views/retained.py")
    no_errors(at)
    assert not [b for b in at.button if b.label == "Compute analysis"]
    assert any("off in this public demo" in m.value for m in at.markdown)
    assert str(models) not in _all_text(at)


def test_outside_public_mode_pages_name_paths_relative_to_the_models_folder(app_env):
    at = start()
    assert any(c.value.startswith("`toy-tiny`") for c in at.caption)  # not the absolute server path
