"""Shared parts of the dashboard: caches, the sidebar's checkpoint picker, and the helpers
every page uses to show a chart (with PNG export) or a table (with a CSV download).

Models, tokenizers and the spaCy pipeline load once per server (``st.cache_resource``; shared,
never mutated, model calls under a lock); bundles and tables are ``st.cache_data``.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from support import bundle_views, cards, csv_export, live_text, places, threads
from ltp.errors import CheckpointError
from ltp.viz import style

REPO = Path(__file__).resolve().parents[1]
SELECTION_KEY = "ltp_selection"
style.use_as_default()  # this server's figures start from the ltp template: no copy validated per chart


# --------------------------------------------------------------------------- caches


@dataclass
class LoadedModel:
    """A checkpoint loaded once per server; hold ``lock`` around every model call."""

    ckpt: object  # ltp.checkpoint.Checkpoint
    lock: threading.Lock


@st.cache_resource
def _live_page_lock() -> threading.Lock:
    return threading.Lock()


@contextlib.contextmanager
def one_live_page_at_a_time():
    """Run the live page's work (model calls and figures) for one session at a time, server-wide.

    A forward pass releases and retakes the GIL at every tensor operation; while other sessions'
    scripts run Python (building figures) each retake waits up to the 5 ms switch interval, so under
    a class's burst a 20 ms forward took 0.3-0.6 s and the 20th page 17 s (``benchmarks/LOAD.md``).
    Python runs one script's Python at a time anyway, so queueing them loses little (only the overlap
    of one session's tensor work with another's Python) and lets each forward run at full speed:
    sessions are served in turn (20 at once: the last done after 2.7 s instead of 17)."""
    with _live_page_lock():
        yield


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _load_model(path: str, config_stamp: float, quantization: str = "none") -> LoadedModel:
    """Load and warm up a checkpoint (int8: its linear layers quantized, ltp.quantize);
    ``config_stamp`` (config.json mtime) is part of the cache key, so a rewritten checkpoint reloads."""
    from ltp.checkpoint import load_checkpoint
    from ltp.quantize import apply_quantization
    from ltp.trace import trace

    ckpt = load_checkpoint(path)
    apply_quantization(ckpt.model, quantization)
    with threads.torch_threads():
        for mode in ("hard", "none"):  # the first call of a fresh model is slow; keep it off the clock
            trace(ckpt.model, ckpt.tokenizer, live_text.DEFAULT_SENTENCE, ckpt.max_length, ckpt.label_names,
                  ckpt.truncation, mode)
    import gc

    gc.freeze()  # the loaded model's objects are permanent: no later collection walks them again
    return LoadedModel(ckpt, threading.Lock())


def model_for(path: Path, quantization: str = "none") -> LoadedModel:
    """The cached model of a checkpoint dir, fp32 ("none") or "int8". Raises CheckpointError."""
    return _load_model(str(path), places.stamp(Path(path) / "config.json"), quantization)


@st.cache_resource(show_spinner="Loading spaCy's English pipeline…")
def spacy_pipeline():
    from ltp.analysis.bundle import load_spacy

    return load_spacy()


@st.cache_data(show_spinner="Reading the analysis bundle…", max_entries=4)
def bundle(path: str, stamp: float):
    """The analysis bundle at ``path``; ``stamp`` (summary.json mtime) refreshes it."""
    from ltp.analysis.bundle import load_bundle

    return load_bundle(Path(path))


def bundle_key(b) -> str:
    """A cache key that changes whenever the bundle is recomputed (its meta records the run:
    checkpoint, sample, settings and timings), so derived tables and maps never go stale."""
    import hashlib
    import json

    return hashlib.sha1(json.dumps(b.summary["meta"], sort_keys=True, default=str).encode()).hexdigest()


@st.cache_data(show_spinner="Reading the data set…", max_entries=4)
def split_frame(dataset: str, split: str, root: str, stamp: float) -> pd.DataFrame:
    """A prepared split (text, label), indexed by example id."""
    from ltp.data import load_split

    return load_split(dataset, split, Path(root))


def split_for(dataset: str | None, split: str = "test") -> pd.DataFrame | None:
    """The split's rows (text, label) when the data set is prepared, else None."""
    root = places.data_dir(REPO)
    if not places.dataset_prepared(dataset, root, split):
        return None
    return split_frame(dataset, split, str(root), places.stamp(root / dataset / f"{split}.parquet"))


# --------------------------------------------------------------------------- sidebar


@dataclass(frozen=True)
class Selection:
    """The checkpoint chosen in the sidebar; ``error`` says why there is none."""

    path: Path | None
    card: dict | None
    error: str | None
    quantization: str = "none"  # "int8": the live page runs the model with int8 linear layers

    @property
    def shown(self) -> str:
        """The checkpoint's path as pages show it (relative to the repository or models folder)."""
        return places.shown_path(self.path, REPO) if self.path else ""

    @property
    def in_command(self) -> str:
        """The checkpoint's path in a command to copy (whole outside the repository, except in public)."""
        return places.shown_path(self.path, REPO, command=True) if self.path else ""

    @property
    def dataset(self) -> str | None:
        return self.card["dataset"] if self.card else None


def sidebar() -> Selection:
    """Checkpoint picker (models dir + a free path) and the model card; stores the selection."""
    root = places.models_dir(REPO)
    found = places.discover_checkpoints(root)
    with st.sidebar:
        st.subheader("Checkpoint")
        chosen = None
        if found:
            chosen = st.selectbox("Model", found, index=0, format_func=lambda p: p.name, key="ckpt_choice",
                                  help=f"Checkpoints found in `{places.shown_path(root, REPO)}`")
        else:
            st.caption(f"No checkpoint in `{places.shown_path(root, REPO)}`.")
        typed = "" if places.public_mode() else st.text_input(  # a public demo tells no one which paths exist
            "or a path", key="ckpt_path", placeholder="runs/ag2k/hard",
            help="Any checkpoint directory or training run directory (its latest stage).")
        try:
            path = places.resolve_checkpoint(typed, chosen, REPO)
            card = cards.model_card(path)
            selection = Selection(path, card, None)
            backbone = card["backbone"]  # a local backbone folder is named as any other path
            if backbone and Path(backbone).exists():
                backbone = places.shown_path(backbone, REPO)
            st.markdown(cards.model_card_markdown({**card, "backbone": backbone}))
            int8 = st.toggle("int8 weights", key="ckpt_int8",
                             help="Run the live page with the encoder's linear layers quantized to int8 "
                                  "(dynamic int8 quantization, CPU). LTP removes tokens; int8 makes each "
                                  "remaining token cheaper. The stored results stay fp32 unless marked int8.")
            selection = Selection(path, card, None, "int8" if int8 else "none")
        except CheckpointError as err:  # shown once, by the page (require_checkpoint)
            selection = Selection(None, None, places.redact(str(err), REPO))
    st.session_state[SELECTION_KEY] = selection
    return selection


def current() -> Selection:
    """The selection the sidebar made in this run."""
    return st.session_state.get(SELECTION_KEY) or Selection(None, None, "No checkpoint selected.")


def require_checkpoint() -> Selection:
    """The selection, or stop the page with the reason and the command that makes a model."""
    sel = current()
    if sel.path is None:
        if st.session_state.get("ckpt_path", "").strip():
            st.error(sel.error)
        else:
            st.info(f"No model to show. {sel.error}")
        st.stop()
    return sel


# --------------------------------------------------------------------------- display


def plotly_config(name: str) -> dict:
    """Plotly's mode bar with the PNG export (toImage) named after the chart."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}}


def chart(fig, name: str, key: str | None = None) -> None:
    st.plotly_chart(fig, config=plotly_config(name), key=key or f"chart-{name}", width="stretch")


def table(df: pd.DataFrame, name: str, *, height: int | str = "auto", column_config: dict | None = None) -> None:
    """A dataframe with a CSV download button under it."""
    st.dataframe(df, hide_index=True, height=height, column_config=column_config, key=f"table-{name}")
    download(df, name)


def download(df: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A CSV download button for a table (shown or not)."""
    st.download_button(label, csv_export.to_csv_bytes(df), file_name=f"{name}.csv", mime="text/csv",
                       key=f"csv-{name}", icon=":material/download:")


def need_bundle(sel: Selection):
    """The selected checkpoint's analysis bundle, or stop the page offering to compute it."""
    from ltp.analysis.bundle import BundleError, default_bundle_dir

    where = default_bundle_dir(sel.path)
    summary = where / "summary.json"
    if summary.is_file():
        try:
            return bundle(str(where), places.stamp(summary))
        except BundleError as err:
            st.error(str(err))
    else:
        st.info(f"This checkpoint has no analysis bundle yet (`{places.shown_path(where, REPO)}`).")
    _offer_analysis(sel)
    st.stop()


def _offer_analysis(sel: Selection) -> None:
    """"Compute analysis" when the data set is prepared, else the commands that get there."""
    root = places.data_dir(REPO)
    cmd = f"ltp analyze --checkpoint {sel.in_command}"
    if places.public_mode():  # minutes of CPU per click: not for a public demo
        st.markdown(f"Computing an analysis is off in this public demo; its owner can run `{cmd}`.")
        return
    if not places.dataset_prepared(sel.dataset, root):
        prep = places.prepare_hint(sel.dataset, root) if sel.dataset else "ltp data prepare NAME"
        st.markdown(f"The data set **{sel.dataset or 'of this checkpoint'}** is not prepared in "
                    f"`{places.shown_path(root, REPO)}`. Get it, then compute the analysis:")
        st.code(f"{prep}\n{cmd}", language="bash")
        return
    st.markdown(f"Compute it here (or run `{cmd}`): a stratified sample of the test split goes through the "
                "model and spaCy, then t-SNE.")
    n = st.number_input("Sample size (examples)", min_value=10, max_value=100_000, value=1000, step=100,
                        key="analysis_limit")
    if st.button("Compute analysis", type="primary", key="analysis_run"):
        _compute_analysis(sel, int(n))


def _compute_analysis(sel: Selection, limit: int) -> None:
    from ltp.analysis.bundle import AnalysisConfig, BundleError, build_bundle, default_bundle_dir, save_bundle
    from ltp.data import DataError

    bar = st.progress(0.0, text="Finding domain terms in the training split…")

    def progress(phase: str, done: int, total: int) -> None:
        bar.progress(bundle_views.progress_fraction(phase, done, total), text=f"{phase}: {done} / {total}")

    try:
        model = model_for(sel.path)
        nlp = spacy_pipeline()
        result = build_bundle(model.ckpt, AnalysisConfig(limit=limit), places.data_dir(REPO), progress, nlp,
                              model_lock=model.lock)  # the lock is held only while the model runs
        save_bundle(result, default_bundle_dir(sel.path))
    except (BundleError, DataError, CheckpointError, ValueError, OSError, RuntimeError) as err:
        st.error(f"The analysis failed: {err}")
        return
    bar.progress(1.0, text="Done.")
    st.rerun()
