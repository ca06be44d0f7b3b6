"""Text-classification data sets: prepare them once into parquet, then load splits by name.

``prepare_dataset`` reads any single-label text classification data (a preset's Hub dataset, a
CSV/TSV/JSON-lines/parquet file or folder, a Hub dataset id; see ``ltp.sources``), finds its
text and label columns, drops empty and repeated texts (counted), maps labels to ids with their
names, makes a seeded stratified test split when there is none, and writes
``<data_dir>/<name>/{train,test}.parquet`` plus ``labels.json`` (names, counts, what was dropped,
where the test split came from). Every later step reads those files by name through
``load_split`` / ``load_sample`` / ``load_label_names``. Texts are stored exactly as in the
source; cleaning for the model happens before tokenization.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from ltp.files import write_atomic, write_text_atomic
from ltp.sources import (
    HubLoader,
    Source,
    SourceError,
    as_table,
    hub_splits,
    load_hub_split,
    looks_like_hub_id,
    read_path,
    split_files,
)

DATA_DIR_ENV = "LTP_DATA_DIR"
LABELS_FILE = "labels.json"

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

TEXT_COLUMNS = ("text", "sentence", "review", "content", "document", "body", "comment", "utterance", "tweet")
JOINED_TEXT_COLUMNS = (("title", "description"), ("title", "content"), ("title", "text"), ("title", "body"))
LABEL_COLUMNS = ("label", "labels", "target", "category", "class", "class index", "sentiment", "stars", "rating")
_NAME = re.compile(r"[A-Za-z0-9][\w.-]{0,63}")


@dataclass(frozen=True)
class PrepareOptions:
    """How to read a source that is not laid out as text,label (all optional)."""

    text_column: str | None = None  # a column, or columns joined by "+" (e.g. "title+description")
    label_column: str | None = None  # the label column (ints, strings or booleans)
    label_names: tuple[str, ...] | None = None  # names of integer labels 0..K-1 when the source has none
    hub_config: str | None = None  # configuration of a Hub dataset (e.g. "sst2" of "nyu-mll/glue")
    test_fraction: float = 0.2  # held out, stratified, when the source has no labelled test split
    seed: int = 42  # of that split
    dedupe: bool | None = None  # drop repeated texts; None: yes, except in a preset's published splits

    def __post_init__(self) -> None:
        if not 0.0 < self.test_fraction < 1.0:
            raise DataError(f"--test-fraction must be between 0 and 1, got {self.test_fraction}.")


def prepare_dataset(
    name: str,
    source: str | Path | None = None,
    data_dir: Path | None = None,
    hub_loader: HubLoader | None = None,
    options: PrepareOptions | None = None,
) -> dict[str, Any]:
    """Write data set ``name`` into ``data_dir/<name>/`` as {train,test}.parquet plus ``labels.json``.

    Args:
        name: a preset (``DATASETS``) or a new name (letters, digits, ``_ . -``).
        source: a file (CSV, TSV, JSON lines, parquet), a folder of split files (also a Hub-style
            folder, ``data/train-00000-of-00001.parquet``), or a Hub dataset id; None: a
            preset's Hub dataset.
        data_dir: destination root; default ``default_data_dir()``.
        hub_loader: ``(hub_id, split) -> DataFrame | Arrow table``; default ``datasets.load_dataset``.
        options: column choice, label names, the made test split, de-duplication.

    Returns:
        The content written to ``labels.json`` (names, source, rows, counts, what was dropped).
    """
    options = options or PrepareOptions()
    if not _NAME.fullmatch(name):
        raise DataError(f"Data set name {name!r} must be letters, digits, '_', '.' or '-' (it names a folder).")
    spec = DATASETS.get(name)
    src = _read_source(name, spec, source, hub_loader, options)
    splits, notes = _clean_splits(name, spec, src, options)
    # Everything is read and validated before the first byte is written.
    out_dir = (Path(data_dir) if data_dir is not None else default_data_dir()) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, table in splits.items():
        write_atomic(out_dir / f"{split}.parquet", lambda tmp, t=table: _write_parquet(t, tmp))
    for stale in set(p.stem for p in out_dir.glob("*.parquet")) - set(splits):
        (out_dir / f"{stale}.parquet").unlink()  # a split the new source does not have
    info = {"dataset": name, "label_names": notes.pop("label_names"), "source": src.description,
            "rows": {s: t.num_rows for s, t in splits.items()}, "label_counts": notes.pop("label_counts"), **notes}
    write_text_atomic(out_dir / LABELS_FILE, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return info


# ---- reading


def _read_source(name: str, spec: DatasetSpec | None, source, hub_loader, options: PrepareOptions) -> Source:
    """The raw splits from a path, a Hub id, or a preset's Hub dataset."""
    if source is None:
        if spec is None:
            known = ", ".join(sorted(DATASETS))
            raise DataError(f"Unknown data set {name!r}. Known data sets: {known}. For any other data, "
                            f"pass --from a file, a folder or a Hub dataset id.")
        return _read_hub(spec.hub_id, list(spec.splits), hub_loader, None, name, preset=True)
    path = Path(source).expanduser()
    if path.exists():
        if path.is_dir() and (path / name).is_dir() and split_files(path / name):
            path = path / name  # DIR/<name>/{train,test}.* as well as DIR/{train,test}.*
        try:
            src = read_path(path)
        except SourceError as err:
            raise DataError(_preset_hint(spec, str(err), path)) from err
        if spec is not None:
            _check_preset_splits(spec, src, path)
        return src
    if spec is None and looks_like_hub_id(str(source)):
        splits = getattr(hub_loader, "splits", None) or _hub_split_names(str(source), options.hub_config)
        return _read_hub(str(source), splits, hub_loader, options.hub_config, name, preset=False)
    raise DataError(f"Source folder {source} does not exist. Pass --from an existing file or folder "
                    f"(or a Hub dataset id), or omit --from to download a preset ({', '.join(DATASETS)}) from the Hub.")


def _preset_hint(spec: DatasetSpec | None, message: str, path: Path) -> str:
    if spec is None or not message.startswith("No data files found"):
        return message
    files = ",".join(spec.splits)
    return (f"No {spec.name} files found in {path}. Expected {path}/{spec.name}/{{{files}}}.parquet "
            f"or {path}/{{{files}}}.parquet (.csv, .tsv, .jsonl also accepted).")


def _check_preset_splits(spec: DatasetSpec, src: Source, path: Path) -> None:
    """A preset is its published splits: each must be there (none is made up)."""
    for split in spec.splits:
        if split not in src.tables:
            raise DataError(f"Split {split!r} of {spec.name} is missing: expected {path}/{split}.parquet "
                            f"or {path}/{split}.csv.")
    src.tables = {s: src.tables[s] for s in spec.splits}


def _hub_split_names(hub_id: str, config: str | None) -> list[str]:
    try:
        return hub_splits(hub_id, config)
    except ImportError as exc:
        raise DataError("Reading from the Hub needs the 'datasets' package: pip install datasets "
                        "(or use --from with a local file or folder).") from exc
    except Exception as exc:  # noqa: BLE001 - network/auth/not-found errors come in many types
        raise DataError(f"Could not find the data set {hub_id!r}"
                        f"{f' (config {config!r})' if config else ''} on the Hugging Face Hub: {exc}. "
                        f"Check the id, its config (--hub-config), your network, or use --from with local files.") from exc


def _read_hub(hub_id: str, splits: list[str], loader, config: str | None, name: str, preset: bool) -> Source:
    """The splits of a Hub dataset (train/test, else whatever it has), through ``loader``."""
    wanted = [s for s in splits if s in ("train", "test", "validation")] if not preset else splits
    if "train" not in wanted:
        raise DataError(f"{hub_id} has no 'train' split (it has {', '.join(splits)}); ltp trains on 'train'.")
    tables, names = {}, {}
    for split in wanted:
        try:
            if loader is not None:
                rows, meta = as_table(loader(hub_id, split)), {}
            else:
                rows, meta = load_hub_split(hub_id, split, config)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - network/auth/cache errors come in many types
            raise DataError(
                f"Could not load {hub_id} (split {split!r}) from the Hugging Face Hub: {exc}. "
                f"Check your network connection, or use local copies: "
                f"ltp data prepare {name} --from DIR  (DIR holding {name}/train.parquet "
                f"and test.parquet, or .csv files with text,label columns)."
            ) from exc
        tables[split] = rows
        names.update(meta)
    return Source(tables, f"hf://datasets/{hub_id}" + (f" ({config})" if config else ""), names)


# ---- columns


def _find_column(columns: list[str], wanted: str) -> str | None:
    by_lower = {c.strip().lower(): c for c in columns}
    return by_lower.get(wanted.strip().lower())


def _choose_columns(table: pa.Table, options: PrepareOptions, where: str) -> tuple[list[str], str]:
    """(text columns, joined with a space; the label column), by option or by their usual names."""
    cols = table.column_names
    tried_label = ", ".join(LABEL_COLUMNS)
    if options.text_column:
        text = [_find_column(cols, c) for c in options.text_column.split("+")]
        if None in text:
            raise DataError(f"{where} has no column {options.text_column!r} (--text-column); found {cols}.")
    else:
        text = next(([c] for c in (_find_column(cols, n) for n in TEXT_COLUMNS) if c), None)
        text = text or next(([_find_column(cols, a), _find_column(cols, b)] for a, b in JOINED_TEXT_COLUMNS
                             if _find_column(cols, a) and _find_column(cols, b)), None)
        text = text or ([c for c in cols if re.fullmatch(r"text\d+", c)] or None)
    label = _find_column(cols, options.label_column) if options.label_column else \
        next((c for c in (_find_column(cols, n) for n in LABEL_COLUMNS) if c), None)
    missing = [k for k, v in (("text", text), ("label", label)) if not v]
    if options.label_column and not label:
        raise DataError(f"{where} has no column {options.label_column!r} (--label-column); found {cols}.")
    if missing:
        raise DataError(
            f"{where} lacks column(s) {missing}; found {cols}. Text columns are found by the names "
            f"{', '.join(TEXT_COLUMNS)} (or title + description); labels by {tried_label}. Choose them with "
            f"--text-column / --label-column. Add a header row 'text,label' if the file has none."
        )
    return text, label


def _text_array(table: pa.Table, columns: list[str], where: str) -> pa.ChunkedArray:
    """The text of each row (several columns joined by a space); nulls become empty."""
    parts = []
    for c in columns:
        col = table.column(c)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            raise DataError(f"{where}: column {c!r} holds {col.type}, not text. Choose the text with --text-column.")
        parts.append(pc.fill_null(col, "") if col.null_count else col)  # no copy of a column without gaps
    if len(parts) == 1:
        return parts[0]
    parts = [p.cast(pa.large_string()) for p in parts]
    return pc.binary_join_element_wise(*parts, pa.scalar(" ", pa.large_string()))


def _chunkwise(text: pa.ChunkedArray, fn, dtype=bool) -> np.ndarray:
    """``fn`` applied chunk by chunk, concatenated (temporaries stay one chunk large)."""
    out = [fn(chunk) for chunk in text.chunks]
    return np.concatenate(out) if out else np.zeros(0, dtype=dtype)


def _is_empty(chunk: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(chunk)), 0), True).to_numpy(
        zero_copy_only=False)


def _text_hashes(text: pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each text (for repeats and train/test overlap without a copy of the texts)."""
    return _chunkwise(text, lambda ch: pd.util.hash_array(ch.to_numpy(zero_copy_only=False), categorize=False),
                      np.uint64)


# ---- rows and labels


def _where(src: Source, split: str) -> str:
    files = src.files.get(split) or []
    if len(files) == 1:
        return files[0]
    if files:
        return f"{Path(files[0]).parent} split {split!r}"
    return f"{src.description.removeprefix('hf://datasets/')} split {split!r}"


@dataclass
class _Rows:
    """One split while it is cleaned: its texts, raw labels and what was dropped."""

    text: pa.ChunkedArray
    label: pa.ChunkedArray
    text_columns: list[str]
    label_column: str
    where: str
    dropped: dict[str, int] = field(default_factory=dict)
    hashes: np.ndarray | None = None  # (N,) uint64 per text, once computed

    def keep(self, mask: np.ndarray, reason: str) -> None:
        """Keep the rows where ``mask`` is true; count the others under ``reason`` (no copy when
        nothing goes)."""
        gone = int(len(mask) - np.count_nonzero(mask))
        if not gone:
            return
        keep = pa.array(mask)
        self.text, self.label = self.text.filter(keep), self.label.filter(keep)
        if self.hashes is not None:
            self.hashes = self.hashes[mask]
        self.dropped[reason] = self.dropped.get(reason, 0) + gone

    def text_hashes(self) -> np.ndarray:
        if self.hashes is None:
            self.hashes = _text_hashes(self.text)
        return self.hashes


def _rows(src: Source, split: str, options: PrepareOptions) -> _Rows:
    where = _where(src, split)
    table = src.tables[split]
    if table.num_rows == 0:
        raise DataError(f"{where} has no rows. Provide a non-empty split.")
    text_cols, label_col = _choose_columns(table, options, where)
    rows = _Rows(_text_array(table, text_cols, where), table.column(label_col), text_cols, label_col, where)
    rows.keep(~_chunkwise(rows.text, _is_empty), "empty text")
    return rows


def _numeric(label: pa.ChunkedArray) -> np.ndarray | None:
    """Labels as floats (NaN where missing) if they are numbers or numeric strings, else None."""
    if pa.types.is_boolean(label.type) or pa.types.is_integer(label.type) or pa.types.is_floating(label.type):
        return pc.cast(label, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    try:
        stripped = pc.utf8_trim_whitespace(label.cast(pa.large_string()))
        return pc.cast(pc.if_else(pc.equal(stripped, ""), None, stripped), pa.float64()).to_numpy(
            zero_copy_only=False).astype(float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _unlabelled(values: np.ndarray | None, label: pa.ChunkedArray) -> np.ndarray:
    """True where a row has no label (missing, or negative: the Hub's hidden test labels are -1)."""
    if values is not None:
        return np.isnan(values) | (values < 0)
    return label.is_null().to_numpy(zero_copy_only=False)


def _preset_ids(spec: DatasetSpec, rows: _Rows, values: np.ndarray | None) -> np.ndarray:
    """A preset's labels: integers 0..K-1, a 1-based class index, or its class names."""
    k = spec.num_labels
    if values is None:
        names = pc.utf8_trim_whitespace(rows.label.cast(pa.large_string())).to_numpy(zero_copy_only=False)
        ids = pd.Series(names).map({n: i for i, n in enumerate(spec.label_names)})
        if ids.isna().any():
            raise DataError(f"{rows.where}: labels must be integers 0-{k - 1} or the names "
                            f"{', '.join(spec.label_names)}; found {sorted(set(names[ids.isna()]))[:10]}.")
        return ids.to_numpy(dtype=np.int64)
    if np.isnan(values).any() or not np.all(np.mod(values, 1) == 0):
        raise DataError(f"{rows.where}: labels must be integers 0-{k - 1}; found missing or non-integer values.")
    if rows.label_column.strip().lower() == "class index":
        if not ((values >= 1) & (values <= k)).all():
            raise DataError(f"{rows.where}: in the AG News original layout the first column must hold class "
                            f"indices 1-{k} (found {sorted(set(values.astype(int).tolist()))[:10]}).")
        values = values - 1
    bad = sorted(set(values[(values < 0) | (values >= k)].astype(int).tolist()))
    if bad:
        names = ", ".join(f"{i} {n}" for i, n in enumerate(spec.label_names))
        raise DataError(f"{rows.where}: labels {bad[:10]} are out of range for {spec.name} ({names}). "
                        f"Use 0-based labels 0-{k - 1}.")
    return values.astype(np.int64)


def _label_mapping(train: _Rows, values: np.ndarray | None, names: list[str] | None) -> tuple[list[str], dict]:
    """Class names and raw value -> id, decided by the train split (and metadata names)."""
    if values is None:  # string labels: sorted names, or the order of --label-names
        found = sorted(set(pc.utf8_trim_whitespace(train.label.cast(pa.large_string())).to_pylist()))
        order = list(names) if names else found
        extra = sorted(set(found) - set(order))
        if extra:
            raise DataError(f"{train.where}: labels {extra[:10]} are not in --label-names {order}.")
        return order, {n: i for i, n in enumerate(order)}
    if not np.all(np.mod(values, 1) == 0):
        raise DataError(f"{train.where}: numeric labels must be integers; found non-integer values.")
    uniq = sorted(set(values.astype(np.int64).tolist()))
    if names:
        k = len(names)
        base = 0 if set(uniq) <= set(range(k)) else 1 if set(uniq) <= set(range(1, k + 1)) else None
        if base is None:
            raise DataError(f"{train.where}: labels {uniq[:10]} do not fit the {k} label names {list(names)} "
                            f"(expected 0-{k - 1}, or 1-{k}).")
        return list(names), {v: v - base for v in range(base, base + k)}
    if uniq == list(range(len(uniq))):
        return [str(v) for v in uniq], {v: v for v in uniq}
    return [str(v) for v in uniq], {v: i for i, v in enumerate(uniq)}  # e.g. 1-5 stars -> ids 0-4


def _apply_mapping(rows: _Rows, values: np.ndarray | None, mapping: dict, names: list[str]) -> np.ndarray:
    keys = (pc.utf8_trim_whitespace(rows.label.cast(pa.large_string())).to_numpy(zero_copy_only=False)
            if values is None else values.astype(np.int64))
    ids = pd.Series(keys).map(mapping)
    if ids.isna().any():
        unseen = sorted(set(pd.Series(keys)[ids.isna()].tolist()))
        raise DataError(f"{rows.where}: labels {unseen[:10]} do not occur in the train split (classes: "
                        f"{', '.join(names)}). A model cannot learn a class it never sees: fix the labels "
                        f"or the split.")
    return ids.to_numpy(dtype=np.int64)


def _dedupe(rows: _Rows) -> None:
    """Keep the first of each repeated text (by 64-bit hashes: 8 bytes a row, not a copy of the texts)."""
    rows.keep(~pd.Series(rows.text_hashes()).duplicated().to_numpy(), "duplicate text")


def _made_test_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded, stratified test mask: ``fraction`` of each class (at least one of a class of 2+)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = int(round(fraction * len(members)))
        n = min(max(n, 1 if len(members) > 1 else 0), len(members) - 1)
        test[rng.choice(members, size=n, replace=False)] = True
    return test


def _clean_splits(name: str, spec: DatasetSpec | None, src: Source, options: PrepareOptions) -> tuple[dict, dict]:
    """Validated text (string), label (int64) tables per split, and what labels.json records.

    Order: empty texts, then unlabelled rows (user data), then repeated texts are dropped and
    counted; labels become ids; a test split is taken from the source (test, else validation)
    or made; a single class or a test label unseen in train is an error.
    """
    rows = {s: _rows(src, s, options) for s in src.tables}
    if spec is None:
        _drop_unlabelled(rows)
    if options.dedupe if options.dedupe is not None else spec is None:
        for r in rows.values():
            _dedupe(r)
    values = {s: _numeric(r.label) for s, r in rows.items()}
    if spec is not None:
        names = list(spec.label_names)
        ids = {s: _preset_ids(spec, r, values[s]) for s, r in rows.items()}
    else:
        meta = options.label_names or src.label_names.get(rows["train"].label_column) or src.label_names.get("*")
        names, mapping = _label_mapping(rows["train"], values["train"], meta)
        ids = {s: _apply_mapping(r, values[s], mapping, names) for s, r in rows.items()}
    splits = {s: _Split(r, ids[s]) for s, r in rows.items()}
    splits, test_from = _with_test_split(splits, options)
    _check_classes(splits, names, rows["train"].where)
    overlap = np.isin(splits["test"].hashes(), splits["train"].hashes()).sum()
    notes = {
        "label_names": names,
        "label_counts": {s: {n: int(c) for n, c in zip(names, np.bincount(t.labels(), minlength=len(names)))}
                         for s, t in splits.items()},
        "columns": {s: {"text": "+".join(r.text_columns), "label": r.label_column} for s, r in rows.items()},
        "dropped": {s: r.dropped for s, r in rows.items() if r.dropped},
        "test_split": test_from,
        "train_test_overlap": int(overlap),
    }
    return splits, notes


@dataclass
class _Split:
    """An output split: cleaned rows and their label ids, optionally only those under ``mask``
    (a made test split). Written chunk by chunk, so no second copy of the texts is made."""

    rows: _Rows
    ids: np.ndarray  # (N,) int64 label ids of rows
    mask: np.ndarray | None = None  # (N,) bool: the rows of this split

    @property
    def num_rows(self) -> int:
        return len(self.ids) if self.mask is None else int(self.mask.sum())

    def labels(self) -> np.ndarray:
        return self.ids if self.mask is None else self.ids[self.mask]

    def hashes(self) -> np.ndarray:
        h = self.rows.text_hashes()
        return h if self.mask is None else h[self.mask]

    def batches(self, size: int = 65536):
        """Record batches (text string, label int64) of this split, in source order."""
        text = self.rows.text
        for start in range(0, len(self.ids), size):
            end = min(start + size, len(self.ids))
            batch = pa.record_batch([text.slice(start, end - start).combine_chunks().cast(pa.string()),
                                     pa.array(self.ids[start:end], pa.int64())], schema=_OUTPUT_SCHEMA)
            yield batch if self.mask is None else batch.filter(pa.array(self.mask[start:end]))


def _drop_unlabelled(rows: dict[str, _Rows]) -> None:
    """User data: rows without a label are dropped and counted; a split without any is set aside."""
    for split in list(rows):
        r = rows[split]
        missing = _unlabelled(_numeric(r.label), r.label)
        if missing.all():
            if split == "train":
                raise DataError(f"{r.where}: no row has a label. ltp trains a classifier: give each text a label.")
            del rows[split]  # e.g. a Hub test split whose labels are hidden (-1)
        else:
            r.keep(~missing, "no label")


def _with_test_split(splits: dict[str, _Split], options: PrepareOptions) -> tuple[dict[str, _Split], dict]:
    """The source's test split, else its validation split, else a seeded stratified one made from train."""
    if "test" in splits:
        return splits, {"from": "test"}
    if "validation" in splits:
        splits = {("test" if s == "validation" else s): t for s, t in splits.items()}
        return splits, {"from": "validation"}
    train = splits["train"]
    mask = _made_test_split(train.ids, options.test_fraction, options.seed)
    splits = {"train": _Split(train.rows, train.ids, ~mask), "test": _Split(train.rows, train.ids, mask)}
    return splits, {"from": "made", "fraction": options.test_fraction, "seed": options.seed,
                    "stratified": True}


def _check_classes(splits: dict[str, _Split], names: list[str], where: str) -> None:
    present = np.unique(splits["train"].labels())
    if len(present) < 2:
        only = names[int(present[0])] if len(present) else "none"
        raise DataError(f"{where}: every training row has the same label ({only}). A classifier needs at "
                        f"least two classes: check the label column (--label-column).")
    if splits["test"].num_rows == 0:
        raise DataError(f"{where}: the test split is empty. Provide more rows or a larger --test-fraction.")


def _write_parquet(split: _Split, path: Path) -> None:
    """Write exactly the columns text (string) and label (int64), a row group per batch (a sample
    reads only the groups it needs)."""
    with pq.ParquetWriter(path, _OUTPUT_SCHEMA, compression="zstd") as writer:
        for batch in split.batches():
            writer.write_batch(batch)


# --------------------------------------------------------------------------- loading


def _split_path(name: str, split: str, data_dir: Path | None) -> tuple[Path, Path]:
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    splits = _splits_of(name, data_dir)
    if split not in splits:
        raise DataError(f"Unknown split {split!r} for {name}. Available splits: {', '.join(splits)}.")
    path = data_dir / name / f"{split}.parquet"
    if not path.is_file():
        raise _not_prepared(name, data_dir, f"{split}.parquet")
    names = pq.read_schema(path).names
    if names != ["text", "label"]:
        raise DataError(
            f"{path} has columns {names}, expected ['text', 'label']. "
            f"Re-create it: {prepare_command(name, data_dir)}"
        )
    return data_dir, path


def load_split(name: str, split: str, data_dir: Path | None = None) -> pd.DataFrame:
    """Load a prepared split as a DataFrame (text, label); the row index is the example id."""
    _, path = _split_path(name, split, data_dir)
    return pd.read_parquet(path).reset_index(drop=True)


def load_sample(name: str, split: str, n: int | None, seed: int = 0, data_dir: Path | None = None) -> pd.DataFrame:
    """The rows ``stratified_sample(load_split(...), n, seed)`` picks, read without loading the split.

    Only the label column is read to choose the rows, then only those rows' texts (parquet row
    groups), so a sample of a million-row split costs what the sample costs. The index is the
    example id; ``df.attrs["rows"]`` is the split's size. ``n`` None or >= the split: every row.
    """
    _, path = _split_path(name, split, data_dir)
    labels = pq.read_table(path, columns=["label"]).column("label").to_numpy()
    if n is None or n >= len(labels):
        df = load_split(name, split, data_dir)
    else:
        index = stratified_sample(pd.DataFrame({"label": labels}), n, seed).index.to_numpy()
        rows = pads.dataset(path, format="parquet").take(pa.array(index))
        df = rows.to_pandas().set_index(pd.Index(index))
    df.attrs["rows"] = len(labels)
    return df


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
