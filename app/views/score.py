"""Score a file: upload a CSV of texts, get per row the prediction with pruning on and off,
tokens alive per layer and the FLOPs saved, with a progress bar and a download."""

import io

import pandas as pd
import streamlit as st

import dashboard as db
import support as sup
from ltp.errors import CheckpointError
from ltp.data import TEXT_COLUMNS

MAX_MB = 1 if sup.public_mode() else 5  # upload size limit
MAX_ROWS = 200 if sup.public_mode() else 2000  # rows scored per upload (2,000: about a minute on 2 cores)


def read_upload(upload) -> pd.DataFrame:
    """The uploaded CSV (every column as text), or ValueError saying what is wrong with it."""
    if upload.size > MAX_MB * 2**20:
        raise ValueError(f"The file is {upload.size / 2**20:.1f} MB; the limit is {MAX_MB} MB. "
                         f"Score a larger file with `ltp evaluate`-style batches from the command line.")
    raw = upload.getvalue()
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         sep=None, engine="python")  # the delimiter is sniffed: CSV or TSV
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"Cannot read the file as CSV ({err}). Save it as UTF-8 CSV with a header row.") from None
    if df.empty or not len(df.columns):
        raise ValueError("The file has no rows. It needs a header row and one text per row.")
    return df


def text_column_index(columns: list[str]) -> int:
    """The column picker's default: the first column with a usual text name, else the first."""
    lower = [c.strip().lower() for c in columns]
    return next((lower.index(n) for n in TEXT_COLUMNS if n in lower), 0)


RESULT_KEY = "score_result"  # (what was scored, its table): reruns (a download click) reuse it


def scored(path: str, config_stamp: float, quantization: str, texts: tuple[str, ...]) -> pd.DataFrame:
    """The per-row table of ``ltp.inference.score_texts``, with a progress bar while it runs.

    Kept in the session (not ``st.cache_data``, which cannot replay a progress bar), so the
    rerun a download click causes shows the same table at once.
    """
    from ltp.inference import score_texts

    key = (path, config_stamp, quantization, hash(texts))
    done = st.session_state.get(RESULT_KEY)
    if done and done[0] == key:
        return done[1]
    bar = st.progress(0.0, text="Scoring…")
    total = 2 * len(texts)

    def progress(n: int) -> None:
        bar.progress(min(n / total, 1.0), text=f"Scoring: {min(n, total) / total:.0%} of {len(texts)} texts "
                                               "(pruning off, then on)")

    model = db.model_for(path, quantization)
    with model.lock, sup.torch_threads():
        table = score_texts(model.ckpt, texts, progress=progress)
    bar.empty()
    st.session_state[RESULT_KEY] = (key, table)
    return table


sel = db.require_checkpoint()
st.title("Score a file")
st.caption(f"Upload a CSV (or TSV) with a header row and one text per row; up to {MAX_ROWS:,} rows and "
           f"{MAX_MB} MB are scored with `{sel.path.name}`, with pruning on and off.")
upload = st.file_uploader("CSV file", type=["csv", "tsv", "txt"], key="score_upload")
if upload is None:
    st.stop()
try:
    df = read_upload(upload)
except ValueError as err:
    st.error(str(err))
    st.stop()
columns = list(df.columns)
column = st.selectbox("Text column", columns, index=text_column_index(columns), key="score_column")
texts = df[column].astype(str)
empty = texts.str.strip() == ""
if empty.all():
    st.error(f"Column {column!r} is empty in every row: choose the column that holds the texts.")
    st.stop()
notes = []
if empty.any():
    notes.append(f"{int(empty.sum())} empty rows skipped")
texts = texts[~empty]
if len(texts) > MAX_ROWS:
    notes.append(f"the first {MAX_ROWS:,} of {len(texts):,} rows scored (the limit of this page)")
    texts = texts.iloc[:MAX_ROWS]
if notes:
    st.info("; ".join(notes).capitalize() + ".")
try:
    table = scored(str(sel.path), sup.stamp(sel.path / "config.json"), sel.quantization, tuple(texts))
except (CheckpointError, ValueError, RuntimeError) as err:
    st.error(sup.redact(str(err), db.REPO))
    st.stop()
table = table.copy()
table.insert(0, "row", texts.index.to_numpy() + 1)  # 1-based, as a spreadsheet counts data rows
cols = st.columns(3)
cols[0].metric("Texts scored", f"{len(table):,}")
cols[1].metric("Same answer with pruning", f"{table['agree'].mean():.1%}")
cols[2].metric("Mean FLOPs reduction", f"{table['flops_reduction'].mean():.2f}x")
db.table(table, f"scored-{sel.path.name}", column_config=sup.score_column_config(table.columns))
st.caption("The CSV keeps the machine column names (prediction_pruned, alive_after_layer_1 ...) so scripts can read "
           "it; *LTP* is the model with pruning on. FLOPs reduction: unpruned FLOPs / pruned FLOPs of that text.")
