"""ltp-lens dashboard: `streamlit run app/Home.py`.

The entry point sets the page up, draws the shared sidebar (checkpoint picker + model card)
and hands over to the page chosen in the navigation. Pages live in app/views/ (not pages/,
which would switch Streamlit to its legacy multipage mode).
"""

import sys
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parent
if str(APP) not in sys.path:  # `streamlit run` adds it; AppTest does not
    sys.path.insert(0, str(APP))

import dashboard  # noqa: E402
import timing  # noqa: E402

st.set_page_config(layout="wide", page_title="ltp-lens", page_icon=":material/content_cut:")

PAGES = [
    st.Page(APP / "views" / "prune.py", title="Prune a sentence", icon=":material/content_cut:", default=True),
    st.Page(APP / "views" / "score.py", title="Score a file", icon=":material/upload_file:"),
    st.Page(APP / "views" / "performance.py", title="Performance", icon=":material/speed:"),
    st.Page(APP / "views" / "retained.py", title="Retained tokens", icon=":material/filter_alt:"),
    st.Page(APP / "views" / "pos.py", title="Parts of speech", icon=":material/category:"),
    st.Page(APP / "views" / "embedding.py", title="Embedding map", icon=":material/scatter_plot:"),
    st.Page(APP / "views" / "domain.py", title="Domain terms", icon=":material/topic:"),
    st.Page(APP / "views" / "about.py", title="About LTP", icon=":material/info:"),
]

with timing.script_run():  # a no-op unless LTP_TIMING_LOG is set (benchmarks/load_test.py)
    page = st.navigation(PAGES)
    dashboard.sidebar()
    page.run()
