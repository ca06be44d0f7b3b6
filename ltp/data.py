"""Text-classification data sets: prepare them once into parquet, then load splits.

``prepare_dataset`` copies a data set either from a local folder (parquet or CSV) or from the
Hugging Face Hub into ``<data_dir>/<name>/{train,test}.parquet`` plus ``labels.json``. Every
later step reads those files through ``load_split`` / ``load_label_names``. Texts are stored
exactly as in the source; ``ltp.inference.clean_text`` is applied on the model side before tokenization.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ltp.files import write_atomic, write_text_atomic

DATA_DIR_ENV = "LTP_DATA_DIR"
LABELS_FILE = "labels.json"

HubLoader = Callable[[str, str], pd.DataFrame]  # (hub_id, split) -> DataFrame with text, label


class DataError(ValueError):
    """A user-facing data problem; the message says how to fix it."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the toolkit knows about one supported data set."""

    name: str  # short name used on the command line and as folder name, e.g. "ag_news"
    hub_id: str  # Hugging Face Hub repository id the data set is downloaded from
    label_names: tuple[str, ...]  # class names; position = integer label
    splits: tuple[str, ...]  # splits prepared and loadable, e.g. ("train", "test")
    description: str  # one line shown in the CLI and the app

    @property
    def num_labels(self) -> int:
        """Number of classes."""
        return len(self.label_names)


DATASETS: dict[str, DatasetSpec] = {
    "ag_news": DatasetSpec(
        name="ag_news",
        hub_id="fancyzhx/ag_news",
        label_names=("World", "Sports", "Business", "Sci/Tech"),
        splits=("train", "test"),
        description="AG News: news headlines + descriptions, 4 topics (research/non-commercial use).",
    ),
    "imdb": DatasetSpec(
        name="imdb",
        hub_id="stanfordnlp/imdb",
        label_names=("negative", "positive"),
        splits=("train", "test"),
        description="IMDb movie reviews, binary sentiment (Maas et al., 2011).",
    ),
}

_OUTPUT_SCHEMA = pa.schema([("text", pa.string()), ("label", pa.int64())])
_SOURCE_FORMATS = ("parquet", "csv")  # tried in this order
_AG_ORIGINAL_HEADER = ("class index", "title", "description")  # Kaggle copy of the AG CSV


# --------------------------------------------------------------------------- public helpers


def default_data_dir() -> Path:
    """Folder holding prepared data sets: ``$LTP_DATA_DIR`` if set, else ``./data``."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path("data")


def get_spec(name: str) -> DatasetSpec:
    """Return the spec of a known data set, or raise DataError listing the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DataError(f"Unknown data set {name!r}. Known data sets: {known}.") from None


def prepare_command(name: str, data_dir: Path | None = None) -> str:
    """The shell command that prepares ``name`` into ``data_dir`` (for error messages/UI)."""
    prefix = ""
    if data_dir is not None and Path(data_dir) != default_data_dir():
        prefix = f"{DATA_DIR_ENV}={data_dir} "
    return f"{prefix}ltp data prepare {name} --from DIR"


# --------------------------------------------------------------------------- preparing


def prepare_dataset(
    name: str,
    source: str | Path | None = None,
    data_dir: Path | None = None,
    hub_loader: HubLoader | None = None,
) -> dict[str, Any]:
    """Copy data set ``name`` into ``data_dir/<name>/`` as parquet plus ``labels.json``.

    Args:
        name: a key of ``DATASETS``.
        source: local folder with ``<name>/{train,test}.{parquet,csv}`` or
            ``{train,test}.{parquet,csv}``; None downloads from the Hugging Face Hub.
        data_dir: destination root; default ``default_data_dir()``.
        hub_loader: ``(hub_id, split) -> DataFrame``; default uses ``datasets.load_dataset``.

    Returns:
        The content written to ``labels.json``.
    """
    spec = get_spec(name)
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if source is not None:
        folder = _resolve_source_folder(spec, Path(source))
        frames = {split: _read_local_split(spec, folder, split) for split in spec.splits}
        source_desc = str(folder.resolve())
    else:
        loader = hub_loader if hub_loader is not None else _load_from_hub
        frames = {split: _read_hub_split(spec, loader, split) for split in spec.splits}
        source_desc = f"hf://datasets/{spec.hub_id}"
    # Everything is read and validated before the first byte is written.
    out_dir = data_dir / spec.name
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, df in frames.items():
        write_atomic(out_dir / f"{split}.parquet", lambda tmp, df=df: _write_parquet(df, tmp))
    info = _labels_info(spec, frames, source_desc)
    text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
    write_text_atomic(out_dir / LABELS_FILE, text)
    return info


def _labels_info(spec: DatasetSpec, frames: dict[str, pd.DataFrame], source: str) -> dict[str, Any]:
    """Build the ``labels.json`` content: names, source, row and per-class counts per split."""
    counts = {
        split: {spec.label_names[i]: int((df["label"] == i).sum()) for i in range(spec.num_labels)}
        for split, df in frames.items()
    }
    return {
        "dataset": spec.name,
        "label_names": list(spec.label_names),
        "source": source,
        "rows": {split: len(df) for split, df in frames.items()},
        "label_counts": counts,
    }


def _resolve_source_folder(spec: DatasetSpec, source: Path) -> Path:
    """Pick ``source/<name>`` or ``source`` itself, whichever holds the split files."""
    if not source.is_dir():
        raise DataError(
            f"Source folder {source} does not exist. Pass --from a folder that contains "
            f"{spec.name}/train.parquet (or .csv), or omit --from to download from the Hub."
        )
    for candidate in (source / spec.name, source):
        if any(_find_split_file(candidate, split) for split in spec.splits):
            return candidate
    files = ",".join(spec.splits)
    raise DataError(
        f"No {spec.name} files found in {source}. Expected {source}/{spec.name}/{{{files}}}.parquet "
        f"or {source}/{{{files}}}.parquet (.csv also accepted)."
    )


def _find_split_file(folder: Path, split: str) -> Path | None:
    """Return the first existing ``folder/<split>.<ext>`` for the accepted formats."""
    for ext in _SOURCE_FORMATS:
        path = folder / f"{split}.{ext}"
        if path.is_file():
            return path
    return None


def _read_local_split(spec: DatasetSpec, folder: Path, split: str) -> pd.DataFrame:
    """Read and validate one split from a local parquet or CSV file."""
    path = _find_split_file(folder, split)
    if path is None:
        raise DataError(
            f"Split {split!r} of {spec.name} is missing: expected {folder}/{split}.parquet "
            f"or {folder}/{split}.csv."
        )
    raw = pd.read_parquet(path) if path.suffix == ".parquet" else _read_csv(spec, path)
    return _validate(spec, raw, where=str(path))


def _read_csv(spec: DatasetSpec, path: Path) -> pd.DataFrame:
    """Read a CSV with a ``text,label`` header or in the AG News original class,title,description layout."""
    first = _first_csv_row(path)
    lowered = tuple(field.strip().lower() for field in first)
    read = dict(dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "text" in lowered and "label" in lowered:
        df = pd.read_csv(path, **read)
        return df.rename(columns={c: c.strip().lower() for c in df.columns})
    if lowered == _AG_ORIGINAL_HEADER:
        return _from_ag_original(spec, pd.read_csv(path, header=0, names=list(range(3)), **read), path)
    if len(first) == 3 and first[0].strip().isdigit():
        return _from_ag_original(spec, pd.read_csv(path, header=None, **read), path)
    raise DataError(
        f"Cannot read {path}: the first row {first[:4]} is neither a header with 'text' and "
        f"'label' columns nor the AG News original layout (class index 1-{spec.num_labels}, "
        f"title, description; no header). Add a header row 'text,label'."
    )


def _first_csv_row(path: Path) -> list[str]:
    """Return the first record of a CSV file (empty file -> DataError)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        row = next(csv.reader(fh), None)
    if not row:
        raise DataError(f"{path} is empty. Re-create it with a 'text,label' header and one row per example.")
    return row


def _from_ag_original(spec: DatasetSpec, df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Convert class index (1-based), title, description rows to text, label (0-based)."""
    classes = pd.to_numeric(df[0], errors="coerce")
    if classes.isna().any() or not classes.between(1, spec.num_labels).all():
        raise DataError(
            f"{path}: in the AG News original layout the first column must hold class indices "
            f"1-{spec.num_labels} (found {sorted(set(df[0]))[:10]})."
        )
    return pd.DataFrame({"text": df[1] + " " + df[2], "label": classes - 1})


def _read_hub_split(spec: DatasetSpec, loader: HubLoader, split: str) -> pd.DataFrame:
    """Load one split through ``loader``; any failure becomes a DataError naming ``--from``."""
    try:
        raw = loader(spec.hub_id, split)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - network/auth/cache errors come in many types
        raise DataError(
            f"Could not load {spec.hub_id} (split {split!r}) from the Hugging Face Hub: {exc}. "
            f"Check your network connection, or use local copies: "
            f"ltp data prepare {spec.name} --from DIR  (DIR holding {spec.name}/train.parquet "
            f"and test.parquet, or .csv files with text,label columns)."
        ) from exc
    return _validate(spec, raw, where=f"{spec.hub_id} split {split!r}")


def _load_from_hub(hub_id: str, split: str) -> pd.DataFrame:
    """Default hub loader: ``datasets.load_dataset(hub_id, split=split)`` as a DataFrame."""
    try:
        from datasets import load_dataset
    except ImportError as exc:
        raise DataError(
            "Downloading from the Hub needs the 'datasets' package: pip install datasets "
            "(or use --from DIR with local copies)."
        ) from exc
    return load_dataset(hub_id, split=split).to_pandas()


def _validate(spec: DatasetSpec, raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check columns, texts and labels; return a fresh text (str), label (int64) frame."""
    missing = [c for c in ("text", "label") if c not in raw.columns]
    if missing:
        raise DataError(
            f"{where} lacks column(s) {missing}; found {list(raw.columns)}. "
            f"Provide 'text' and 'label' columns."
        )
    if raw.empty:
        raise DataError(f"{where} has no rows. Provide a non-empty split.")
    text = raw["text"].reset_index(drop=True)
    bad_text = text.isna() | ~text.map(lambda t: isinstance(t, str))
    if bad_text.any():
        rows = np.flatnonzero(bad_text.to_numpy())[:5].tolist()
        raise DataError(
            f"{where}: {int(bad_text.sum())} row(s) have a missing or non-string text "
            f"(first rows {rows}). Drop or fill them in the source."
        )
    labels = _validate_labels(spec, raw["label"].reset_index(drop=True), where)
    return pd.DataFrame({"text": text, "label": labels})


def _validate_labels(spec: DatasetSpec, label: pd.Series, where: str) -> pd.Series:
    """Return labels as int64 after checking they are integers in ``0..num_labels-1``."""
    values = pd.to_numeric(label, errors="coerce")
    if values.isna().any() or not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
        raise DataError(
            f"{where}: labels must be integers 0-{spec.num_labels - 1}; found missing or non-integer values."
        )
    values = values.astype("int64")
    bad = sorted(set(values[(values < 0) | (values >= spec.num_labels)].tolist()))
    if bad:
        names = ", ".join(f"{i} {n}" for i, n in enumerate(spec.label_names))
        raise DataError(
            f"{where}: labels {bad[:10]} are out of range for {spec.name} ({names}). "
            f"Use 0-based labels 0-{spec.num_labels - 1}."
        )
    return values


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` with exactly the columns text (string) and label (int64)."""
    table = pa.Table.from_pandas(df[["text", "label"]], schema=_OUTPUT_SCHEMA, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


# --------------------------------------------------------------------------- loading


def load_split(name: str, split: str, data_dir: Path | None = None) -> pd.DataFrame:
    """Load a prepared split as a DataFrame (text, label); the row index is the example id."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    splits = _splits_of(name, data_dir)
    if split not in splits:
        raise DataError(f"Unknown split {split!r} for {name}. Available splits: {', '.join(splits)}.")
    path = data_dir / name / f"{split}.parquet"
    if not path.is_file():
        raise _not_prepared(name, data_dir, f"{split}.parquet")
    df = pd.read_parquet(path)
    if list(df.columns) != ["text", "label"]:
        raise DataError(
            f"{path} has columns {list(df.columns)}, expected ['text', 'label']. "
            f"Re-create it: {prepare_command(name, data_dir)}"
        )
    return df.reset_index(drop=True)


def load_label_names(name: str, data_dir: Path | None = None) -> list[str]:
    """Class names of a prepared data set, read from its ``labels.json``."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    _splits_of(name, data_dir)
    path = data_dir / name / LABELS_FILE
    if not path.is_file():
        raise _not_prepared(name, data_dir, LABELS_FILE)
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["label_names"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        hint = prepare_command(name, data_dir)
        raise DataError(f"{path} is damaged ({exc}). Re-create it: {hint}") from exc
    return [str(n) for n in names]


def _splits_of(name: str, data_dir: Path) -> tuple[str, ...]:
    """Splits of a known data set, or of any data set already prepared in data_dir (a
    process that did not register it, e.g. a benchmark worker, can still read it)."""
    if name in DATASETS:
        return DATASETS[name].splits
    if (data_dir / name / LABELS_FILE).is_file():
        return tuple(sorted(p.stem for p in (data_dir / name).glob("*.parquet")))
    return get_spec(name).splits  # raises: unknown data set


def _not_prepared(name: str, data_dir: Path, missing_file: str) -> DataError:
    """Error for a data set that has not been prepared (or only partly)."""
    return DataError(
        f"Data set {name!r} is not prepared in {data_dir / name} (missing {missing_file}). "
        f"Run: {prepare_command(name, data_dir)}   with DIR a folder of local copies "
        f"(e.g. ../shared/data), or without --from to download from the Hugging Face Hub."
    )


# --------------------------------------------------------------------------- sampling


def stratified_sample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Seeded sample of ``n`` rows with the label proportions of ``df``, keeping its index.

    Per-class sizes use largest-remainder rounding; the rows keep their order in ``df`` and
    their index (the example id). ``n >= len(df)`` returns ``df`` unchanged.
    """
    if n <= 0:
        raise DataError(f"Sample size must be positive, got {n}.")
    if "label" not in df.columns:
        raise DataError(f"stratified_sample needs a 'label' column; found {list(df.columns)}.")
    if n >= len(df):
        return df
    counts = df["label"].value_counts().sort_index()
    quotas = _allocate(counts.to_numpy(), n)
    labels = df["label"].to_numpy()
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(labels == label), size=q, replace=False)
        for label, q in zip(counts.index, quotas)
        if q > 0
    ]
    return df.iloc[np.sort(np.concatenate(picked))]


def _allocate(counts: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` over classes proportionally to ``counts`` (largest remainder, ties by order)."""
    exact = counts * n / counts.sum()
    quotas = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - quotas), kind="stable")
    quotas[remainder_order[: n - quotas.sum()]] += 1
    return quotas
