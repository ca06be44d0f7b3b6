"""Where a data set comes from: files, folders and Hub datasets read into Arrow tables.

``read_source`` turns a ``--from`` argument (a CSV/TSV/JSON-lines/parquet file, a folder of
split files, a folder laid out like a Hub dataset repo, or a Hub dataset id) into one Arrow
table per split with the source's own columns, plus whatever label names the source's metadata
gives (a ``ClassLabel`` feature, a dataset card's ``class_label`` names, ``classes.txt`` or
``labels.json`` beside the files). Choosing the text and label columns and cleaning the rows
is ``ltp.data``'s job. Reading goes through pyarrow (multi-threaded CSV/JSON readers, parquet
column projection), so a million-row file never passes through pandas.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "json", ".json": "json", ".ndjson": "json"}
SPLIT_ALIASES = {"train": ("train",), "test": ("test",), "validation": ("validation", "valid", "val", "dev")}
_BLOCK = 1 << 24  # 16 MiB CSV/JSON blocks

# (hub_id, split) -> rows of that split; the seam tests (and offline users) replace
HubLoader = Callable[[str, str], "pd.DataFrame | pa.Table"]


class SourceError(ValueError):
    """The source cannot be read; the message says what was expected."""


@dataclass
class Source:
    """The raw splits of a data set, before columns are chosen or rows cleaned."""

    tables: dict[str, pa.Table]  # split name -> the source's columns, every one as read
    description: str  # where it came from, recorded in labels.json
    label_names: dict[str, list[str]] = field(default_factory=dict)  # column -> names from metadata
    files: dict[str, list[str]] = field(default_factory=dict)  # split -> files read


# --------------------------------------------------------------------------- files


def _csv_header(path: Path, delimiter: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        row = next(csv.reader(fh, delimiter=delimiter), None)
    if not row:
        raise SourceError(f"{path} is empty. Re-create it with a header row (e.g. text,label) and one row per example.")
    return row


def read_csv(path: Path, delimiter: str = ",", column_names: list[str] | None = None) -> pa.Table:
    """Every column as a string, as written ('NA' stays 'NA'); quoted newlines allowed.

    Args:
        column_names: names for a file without a header row (None: the first row is the header).
    """
    names = column_names or [c.strip() for c in _csv_header(path, delimiter)]
    read = pacsv.ReadOptions(block_size=_BLOCK, encoding="utf8", column_names=names,
                             skip_rows=0 if column_names else 1)
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                   quoted_strings_can_be_null=False)
    try:
        return _strip_bom(pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert))
    except pa.ArrowInvalid as err:
        raise SourceError(f"Cannot parse {path} as {'TSV' if delimiter == chr(9) else 'CSV'}: {err}") from err


def _strip_bom(table: pa.Table) -> pa.Table:
    return table.rename_columns([n.lstrip("\ufeff") for n in table.column_names])


def read_json_lines(path: Path) -> pa.Table:
    """A JSON-lines file (one object per line); a JSON array file is read too."""
    with path.open("rb") as fh:
        first = fh.read(64).lstrip()
    if first.startswith(b"["):  # a JSON array: small files people export by hand
        try:
            return pa.Table.from_pylist(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, pa.ArrowInvalid, TypeError) as err:
            raise SourceError(f"Cannot read {path}: expected a list of objects ({err}).") from err
    try:
        return pajson.read_json(path, read_options=pajson.ReadOptions(block_size=_BLOCK))
    except pa.ArrowInvalid as err:
        raise SourceError(f"Cannot read {path} as JSON lines (one object per line): {err}") from err


def read_file(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One data file by its extension (.csv .tsv .jsonl/.json .parquet)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise SourceError(f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}.")
    if kind == "parquet":
        try:
            schema = pq.read_schema(path)
            keep = [c for c in columns if c in schema.names] if columns else None
            return pq.read_table(path, columns=keep)
        except (pa.ArrowInvalid, OSError) as err:
            raise SourceError(f"{path} is not a readable parquet file ({err}).") from err
    if kind == "json":
        return read_json_lines(path)
    delimiter = "\t" if kind == "tsv" else ","
    return read_csv(path, delimiter, headerless_names(_csv_header(path, delimiter)))


def headerless_names(first_row: list[str]) -> list[str] | None:
    """Column names for the headerless layout of Zhang et al. (2015) (AG News, DBpedia, Yelp,
    Yahoo! Answers CSVs): a 1-based class index, then one or more text fields; else None."""
    if len(first_row) < 2 or not first_row[0].strip().isdigit():
        return None
    if len(first_row) == 2:
        return ["class index", "text"]
    if len(first_row) == 3:
        return ["class index", "title", "description"]
    return ["class index"] + [f"text{i}" for i in range(1, len(first_row))]


def _concat(tables: list[pa.Table], where: str) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise SourceError(f"The files of {where} do not share their columns ({err}).") from err


# --------------------------------------------------------------------------- folders


def _split_of(path: Path) -> str | None:
    """The split a file belongs to by Hub naming: train.csv, train-00000-of-00002.parquet, ..."""
    stem = path.name.split(".")[0].lower()
    for split, aliases in SPLIT_ALIASES.items():
        for alias in aliases:
            if re.fullmatch(rf"{alias}(-\d+(-of-\d+)?)?|{alias}[-_].*", stem):
                return split
    return None


def split_files(folder: Path, max_depth: int = 3) -> dict[str, list[Path]]:
    """Data files under ``folder`` grouped by split; one format per split (parquet first)."""
    found: dict[str, dict[str, list[Path]]] = {}
    for path in sorted(folder.rglob("*")):
        depth = len(path.relative_to(folder).parts)
        if depth > max_depth or not path.is_file() or path.name.startswith("."):
            continue
        kind, split = FORMATS.get(path.suffix.lower()), _split_of(path)
        if kind and split:
            found.setdefault(split, {}).setdefault(kind, []).append(path)
    order = ("parquet", "json", "csv", "tsv")
    return {split: next(kinds[k] for k in order if k in kinds) for split, kinds in found.items()}


def folder_label_names(folder: Path) -> dict[str, list[str]]:
    """Label names a folder's metadata gives: labels.json, classes.txt, or a dataset card."""
    names: dict[str, list[str]] = {}
    meta = folder / "labels.json"
    if meta.is_file():
        try:
            got = json.loads(meta.read_text(encoding="utf-8"))
            if isinstance(got, dict) and isinstance(got.get("label_names"), list):
                names["*"] = [str(n) for n in got["label_names"]]
            elif isinstance(got, list):
                names["*"] = [str(n) for n in got]
        except json.JSONDecodeError:
            pass
    classes = folder / "classes.txt"
    if "*" not in names and classes.is_file():
        names["*"] = [line.strip() for line in classes.read_text(encoding="utf-8").splitlines() if line.strip()]
    card = folder / "README.md"
    if card.is_file():
        names.update(card_label_names(card.read_text(encoding="utf-8")))
    return names


def card_label_names(card: str) -> dict[str, list[str]]:
    """``class_label`` names per feature from a Hub dataset card's YAML front matter."""
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", card, flags=re.S)
    if not m:
        return {}
    import yaml

    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        return {}
    infos = meta.get("dataset_info") or []
    out: dict[str, list[str]] = {}
    for info in infos if isinstance(infos, list) else [infos]:
        for feat in (info or {}).get("features") or []:
            label = ((feat or {}).get("dtype") or {})
            names = label.get("class_label", {}).get("names") if isinstance(label, dict) else None
            if isinstance(names, dict):
                out[feat["name"]] = [str(names[k]) for k in sorted(names, key=lambda k: int(k))]
            elif isinstance(names, list):
                out[feat["name"]] = [str(n) for n in names]
    return out


def read_folder(folder: Path, columns: list[str] | None = None) -> Source:
    """Every split found under ``folder`` (see ``split_files``) as one table each."""
    groups = split_files(folder)
    if not groups:
        raise SourceError(
            f"No data files found in {folder}: expected files named by split, e.g. train.csv and test.csv, "
            f"or data/train-00000-of-00001.parquet (formats: {', '.join(sorted(FORMATS))})."
        )
    tables = {split: _concat([read_file(p, columns) for p in paths], f"split {split!r} in {folder}")
              for split, paths in groups.items()}
    return Source(tables, str(folder.resolve()), folder_label_names(folder),
                  {s: [str(p) for p in ps] for s, ps in groups.items()})


def read_path(path: Path, columns: list[str] | None = None) -> Source:
    """A single file (every row in one 'train' split; the test split is made later) or a folder.

    A single file carries no metadata (a README or labels.json beside it may describe something
    else): name its labels with --label-names.
    """
    if path.is_dir():
        return read_folder(path, columns)
    return Source({"train": read_file(path, columns)}, str(path.resolve()), {}, {"train": [str(path)]})


# --------------------------------------------------------------------------- the Hub


def looks_like_hub_id(spec: str) -> bool:
    """``name`` or ``owner/name`` with the characters the Hub allows (not an existing path)."""
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", spec)) and not Path(spec).exists()


def hub_splits(hub_id: str, config: str | None = None) -> list[str]:
    """The split names of a Hub dataset (train/test/validation ...)."""
    from datasets import get_dataset_split_names

    return list(get_dataset_split_names(hub_id, config))


def load_hub_split(hub_id: str, split: str, config: str | None = None) -> tuple[pa.Table, dict[str, list[str]]]:
    """One split through ``datasets.load_dataset`` as Arrow, with its ClassLabel names."""
    from datasets import ClassLabel, load_dataset

    ds = load_dataset(hub_id, config, split=split)
    names = {k: list(f.names) for k, f in ds.features.items() if isinstance(f, ClassLabel)}
    return ds.data.table, names


def as_table(rows) -> pa.Table:
    """A loader's answer (DataFrame or Arrow table) as an Arrow table."""
    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, pd.DataFrame):
        return pa.Table.from_pandas(rows, preserve_index=False)
    raise SourceError(f"A hub loader must return a DataFrame or an Arrow table, not {type(rows).__name__}.")
