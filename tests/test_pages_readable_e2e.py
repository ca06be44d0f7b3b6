"""The pages other than the live page, in a real browser at 1400 x 1000 on the shipped models: no
table is cut off (none scrolls sideways) and no chart text renders under 14 px.

Uses the browser helpers of test_app_e2e (Debian's Chromium, Playwright); skipped without them
or without the shipped models. Screenshots go to test-artifacts/e2e/readable-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_app_e2e import BROWSER_ARGS, CHROMIUM, RENDER_MS, _serve, no_error_boxes, settle, snap

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
PAGES = {"performance": "Performance", "retained": "Retained tokens", "pos": "Parts of speech",
         "domain": "Domain terms", "about": "How Learned Token Pruning works"}
MIN_PX = 14
# Per table: how much wider its content is than its box; per chart text: its rendered size in px
# (font size times the scale of its transform, so text plotly shrinks to fit a bar counts as small).
MEASURE = """() => {
  const tables = [];
  document.querySelectorAll('[data-testid="stDataFrame"]').forEach((d) => {
    const s = d.querySelector('.dvn-scroller');
    if (s && s.clientWidth > 0) tables.push(s.scrollWidth - s.clientWidth);
  });
  document.querySelectorAll('[data-testid="stMarkdownContainer"] table').forEach((t) =>
    tables.push(t.scrollWidth - t.parentElement.clientWidth));
  const small = [];
  let texts = 0;
  document.querySelectorAll('.js-plotly-plot svg text').forEach((t) => {
    if (!t.textContent.trim()) return;
    const m = t.getScreenCTM();
    const px = parseFloat(getComputedStyle(t).fontSize) * Math.sqrt(m.a * m.a + m.b * m.b);
    texts += 1;
    if (px < %d - 0.05) small.push([t.textContent.slice(0, 40), Math.round(px * 10) / 10]);
  });
  return {tables, small, texts};
}""" % MIN_PX


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory):
    if not (MODELS / "ag_news-minilm-ltp" / "analysis" / "summary.json").is_file():
        pytest.skip("the shipped models with their analysis bundles are not here")
    with _serve({"models_dir": MODELS, "data_dir": REPO / "data"},
                tmp_path_factory.mktemp("readable") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def page_1400(shipped_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            yield context.new_page()
        finally:
            browser.close()


@pytest.mark.parametrize("slug", list(PAGES))
def test_tables_fit_and_chart_text_is_readable_at_1400px(shipped_server, page_1400, slug):
    page = page_1400
    page.goto(f"{shipped_server}/{slug}")
    page.wait_for_selector(f"h1:has-text('{PAGES[slug]}')", timeout=RENDER_MS)
    page.wait_for_selector(".js-plotly-plot", timeout=RENDER_MS)
    settle(page)
    no_error_boxes(page, slug)
    found = page.evaluate(MEASURE)
    snap(page, f"readable-{slug}")
    assert found["texts"] > 0, f"{slug}: no chart text found to measure"
    assert not found["small"], f"{slug}: chart text under {MIN_PX} px: {found['small']}"
    assert all(extra <= 2 for extra in found["tables"]), f"{slug}: a table is wider than its box: {found['tables']}"
