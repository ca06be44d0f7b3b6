"""The dashboard in a real browser: `streamlit run app/Home.py` on a free loopback port with the
tiny checkpoint, driven by Playwright with Debian's Chromium (no browser download).

Needs /usr/bin/chromium (`apt-get install -y chromium`); skipped without it. Screenshots go to
test-artifacts/e2e/.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import streamlit_server
import harness

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(harness.CHROMIUM)
ARTIFACTS = REPO / "test-artifacts" / "e2e"
BROWSER_ARGS = harness.BROWSER_ARGS  # benchmarks/harness.py (on sys.path through conftest)
PAGES = {"performance": "Performance", "retained": "Retained tokens", "pos": "Parts of speech",
         "embedding": "Embedding map", "domain": "Domain terms", "about": "How Learned Token Pruning works"}
SENTENCE = "The striker scored twice and the fans cheered the final whistle of a great season"
RENDER_MS = 120_000


@contextlib.contextmanager
def _serve(app_models, log: Path, **env_extra):
    """A real Streamlit server on the tiny models dir (its URL); always terminated."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) "
                    "to run the browser tests")
    pytest.importorskip("playwright.sync_api")
    with streamlit_server(log, LTP_MODELS_DIR=str(app_models["models_dir"]),
                          LTP_DATA_DIR=str(app_models["data_dir"]), **env_extra) as (url, _):
        yield url


@pytest.fixture(scope="module")
def server(app_models, tmp_path_factory):
    with _serve(app_models, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.dialogs = []  # any alert() that fires would land here
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def settle(page) -> None:
    """Wait until the script run ends (the running indicator is gone) and charts have drawn."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=RENDER_MS)
    page.wait_for_timeout(700)


def snap(page, name: str) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside its main block, so the viewport
    is stretched to the content first)."""
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(max(1000, height + 40), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


def shown_counts(page) -> list[int]:
    """The per-layer counts in the layer table, layers 1..L (without the input row)."""
    rows = page.locator("table.ltp-layers tr")
    counts = []
    for i in range(rows.count()):
        label, count = rows.nth(i).locator("td").nth(0).inner_text(), rows.nth(i).locator("td").nth(1).inner_text()
        if label.startswith("Layer"):
            counts.append(int(re.match(r"(\d+) tokens?", count).group(1)))
    return counts


def apply_text(page, text: str) -> None:
    area = page.locator('[data-testid="stTextArea"] textarea').first
    area.fill(text)
    area.press("Control+Enter")
    probe = text.split()[-1]
    page.wait_for_function("(w) => { const t = document.querySelector('table.ltp-layers');"
                           " return t && t.innerText.includes(w); }", arg=probe, timeout=RENDER_MS)
    settle(page)


def cli_counts(checkpoint: Path, text: str) -> list[int]:
    out = subprocess.run([sys.executable, "-m", "ltp.cli", "prune", "--checkpoint", str(checkpoint), text, "--json"],
                         capture_output=True, text=True, timeout=300, cwd=REPO, check=True)
    return [layer["count"] for layer in json.loads(out.stdout)["layers"]]


def no_error_boxes(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: a traceback is shown"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: error box {errors.first.inner_text()!r}"


def test_prune_page_matches_the_cli_and_escapes_html(server, page, app_models):
    page.goto(server)
    page.wait_for_selector("table.ltp-layers", timeout=RENDER_MS)
    settle(page)
    no_error_boxes(page, "landing page")
    assert page.locator('[data-testid="stSidebar"] [data-testid="stTextInput"]').count() == 1  # the path box

    apply_text(page, SENTENCE)
    no_error_boxes(page, "prune page")
    assert shown_counts(page) == cli_counts(app_models["checkpoint"], SENTENCE)
    snap(page, "prune")

    payload = "<script>alert(1)</script>"
    apply_text(page, payload + " hello")
    table = page.locator("table.ltp-layers")
    assert payload in table.inner_text()  # shown as text ...
    assert table.locator("script").count() == 0  # ... not as an element
    page.wait_for_timeout(500)
    assert page.dialogs == []
    no_error_boxes(page, "prune page with HTML input")
    snap(page, "prune-script-text")


@pytest.mark.parametrize("slug", list(PAGES))
def test_every_page_renders_without_an_error_box(server, page, slug):
    page.goto(f"{server}/{slug}")
    page.wait_for_selector(f"h1:has-text('{PAGES[slug]}')", timeout=RENDER_MS)
    page.wait_for_selector(".js-plotly-plot", timeout=RENDER_MS)  # the charts drew
    if slug != "about":
        page.wait_for_selector('[data-testid="stDownloadButton"]', timeout=RENDER_MS)  # tables come with CSV
    settle(page)
    snap(page, slug)
    no_error_boxes(page, slug)


def test_score_page_uploads_a_csv_and_offers_the_scores(server, page, tmp_path):
    """A real file through the browser's file chooser: scored rows appear, the download carries them."""
    texts = ["the striker scored twice", "oil prices hit a record", "the new chip is faster"]
    upload = tmp_path / "texts.csv"
    upload.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts, 1)))
    page.goto(f"{server}/score")
    page.wait_for_selector("h1:has-text('Score a file')", timeout=RENDER_MS)
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.wait_for_selector('[data-testid="stDownloadButton"]', timeout=RENDER_MS)
    settle(page)
    no_error_boxes(page, "score page")
    assert "Texts scored" in page.inner_text("body")
    with page.expect_download() as dl:
        page.locator('[data-testid="stDownloadButton"] button').first.click()
    rows = dl.value.path().read_text().splitlines()
    assert rows[0].startswith("row,text,prediction_pruned") and len(rows) == 1 + len(texts)
    settle(page)  # the download click reruns the page: the table must come back, not an error
    no_error_boxes(page, "score page after the download")
    assert "Texts scored" in page.inner_text("body")
    snap(page, "score")


def test_public_demo_in_the_browser(app_models, browser, tmp_path):
    """LTP_PUBLIC_DEMO=1: no path box in the sidebar and no absolute path anywhere on the pages."""
    with _serve(app_models, tmp_path / "public.log", LTP_PUBLIC_DEMO="1") as url:
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        try:
            for slug, title in [("", "Prune a sentence"), ("performance", "Performance"), ("score", "Score a file"),
                                ("embedding", "Embedding map")]:
                page.goto(f"{url}/{slug}")
                page.wait_for_selector(f"h1:has-text('{title}')", timeout=RENDER_MS)
                settle(page)
                no_error_boxes(page, f"public {slug or 'prune'}")
                assert page.locator('[data-testid="stSidebar"] [data-testid="stTextInput"]').count() == 0, "a path box"
                body = page.inner_text("body")
                for secret in (str(app_models["models_dir"]), str(app_models["data_dir"]), str(REPO), "/tmp/"):
                    assert secret not in body, (slug, secret)
                snap(page, f"public-{slug or 'prune'}")
        finally:
            context.close()


# --------------------------------------------------------------------------- the live page's what-if, top-k, presentation


def _trace(checkpoint: Path, text: str, mode: str | None = None, **kw):
    from ltp.checkpoint import load_checkpoint
    from ltp.trace import trace

    ck = load_checkpoint(checkpoint)
    return ck, trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, mode, **kw)


def _runs_text(page) -> str:
    return page.locator('[data-testid="stTable"]').inner_text()


def _wait_for(page, script: str, arg=None) -> float:
    """Seconds until the page function ``script`` is true."""
    t0 = time.perf_counter()
    page.wait_for_function(script, arg=arg, timeout=RENDER_MS)
    return time.perf_counter() - t0


def test_live_page_whatif_topk_and_presentation_in_the_browser(server, page, app_models):
    """The what-if slider re-prunes for real and one click goes back; the top-k column and view; the
    presentation stepper; how fast the layer table follows a new text and a new strength."""
    if str(REPO / "app") not in sys.path:  # the app's helpers, as its pages import them
        sys.path.insert(0, str(REPO / "app"))
    from support import what_if
    from ltp.trace import same_flops_topk

    page.goto(server)
    page.wait_for_selector("table.ltp-layers", timeout=RENDER_MS)
    settle(page)
    area = page.locator('[data-testid="stMain"] [data-testid="stTextArea"] textarea').first  # not the sidebar's
    area.fill(SENTENCE)
    t0 = time.perf_counter()
    area.press("Control+Enter")
    page.wait_for_function("(w) => { const t = document.querySelector('table.ltp-layers');"
                           " return t && t.innerText.includes(w); }", arg="whistle", timeout=RENDER_MS)
    text_s = time.perf_counter() - t0
    settle(page)
    ck, hard = _trace(app_models["checkpoint"], SENTENCE, "hard")
    assert shown_counts(page) == [lt.count for lt in hard.layers]
    runs = _runs_text(page)
    assert "LTP (learned)" in runs and "top-k, same FLOPs" in runs and "pruning off" in runs
    assert "LTP (what-if)" not in runs

    slider = page.locator('[data-testid="stSlider"] input[aria-label^="Pruning strength"]')
    slider.focus()
    t0 = time.perf_counter()
    slider.press("Home")  # one change: strength 0, every threshold 0, nothing pruned
    page.wait_for_function("(n) => { const r = [...document.querySelectorAll('table.ltp-layers tr[data-count]')];"
                           " return r.length > 1 && r.every(x => Number(x.dataset.count) === n); }",
                           arg=hard.input_tokens, timeout=RENDER_MS)
    whatif_s = time.perf_counter() - t0
    settle(page)
    _, want = _trace(app_models["checkpoint"], SENTENCE,
                     thresholds=what_if.scaled_thresholds(ck.model.thresholds().tolist(), 2.0))
    for _ in range(40):  # 0.00x -> 2.00x in steps of 0.05
        slider.press("ArrowRight")
    page.wait_for_function("(c) => { const r = [...document.querySelectorAll('table.ltp-layers tr[data-count]')]"
                           ".filter(x => x.dataset.layer !== '0').map(x => Number(x.dataset.count));"
                           " return JSON.stringify(r) === JSON.stringify(c); }",
                           arg=[lt.count for lt in want.layers], timeout=RENDER_MS)
    settle(page)
    no_error_boxes(page, "what-if at 2x")
    assert shown_counts(page) == [lt.count for lt in want.layers] != [lt.count for lt in hard.layers]
    assert " → ".join(str(c) for c in [want.input_tokens] + [lt.count for lt in want.layers]) in _runs_text(page)
    snap(page, "prune-whatif")

    page.get_by_role("button", name="Back to the learned thresholds").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stTable\"]').innerText.includes('what-if')",
                           timeout=RENDER_MS)
    settle(page)
    assert shown_counts(page) == [lt.count for lt in hard.layers]

    m = ck.model
    keep = same_flops_topk(hard.input_tokens, hard.flops, m.num_layers, m.hidden_size, m.intermediate_size)
    _, topk = _trace(app_models["checkpoint"], SENTENCE, "topk", topk_keep=keep)
    page.locator('[data-testid="stButtonGroup"] button', has_text="top-k, same FLOPs").click()
    settle(page)
    assert shown_counts(page) == [lt.count for lt in topk.layers]
    page.locator('[data-testid="stButtonGroup"] button', has_text="LTP").first.click()
    settle(page)

    page.get_by_text("Presentation mode", exact=True).click()
    page.wait_for_selector("table.ltp-layers.ltp-present", timeout=RENDER_MS)
    settle(page)
    rows = lambda: page.locator("table.ltp-layers tr[data-layer]").count()  # noqa: E731
    assert rows() == 1  # the input alone
    for layer in range(1, m.num_layers + 1):
        page.get_by_role("button", name="Next layer ▶").click()
        page.wait_for_function("(n) => document.querySelectorAll('table.ltp-layers tr[data-layer]').length === n",
                               arg=layer + 1 + (layer == m.num_layers), timeout=RENDER_MS)
        if layer == 2:
            snap(page, "prune-presentation-layer2")
    settle(page)
    assert "Classification" in page.locator("table.ltp-layers").inner_text()
    no_error_boxes(page, "presentation mode")
    snap(page, "prune-presentation")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "live-latency.json").write_text(json.dumps({"new_text_s": text_s, "new_strength_s": whatif_s}))
    # the tiny model: what a shared 2-core CPU allows without flaking (shipped models: benchmarks/app_speed.py)
    assert text_s < 5 and whatif_s < 5, (text_s, whatif_s)
