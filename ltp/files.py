"""Atomic writes: the one way ltp-lens puts a file or a folder on disk.

A reader (the dashboard, a second process, a resumed run) sees either the old content or the
new, never a half-written file: everything is written beside its target and renamed over it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> None:
    """Run ``write(tmp)`` on a temp file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_json_atomic(path: str | Path, data) -> None:
    """Write ``data`` as indented JSON atomically (numpy values and paths are converted)."""
    write_text_atomic(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def merge_json(path: str | Path, key: str, value) -> dict:
    """Set ``data[key] = value`` in a JSON object file (created if missing), atomically."""
    path = Path(path)
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        data = {}  # a damaged results file is rewritten rather than blocking new results
    data[key] = value
    write_json_atomic(path, data)
    return data


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside ``target``; on success it replaces ``target`` by renames.

    The old folder is moved aside before the new one is renamed in and deleted only after,
    so at every instant ``target`` is either the complete old folder or the complete new one
    (a crash in between leaves the old one beside it as ``.<name>.old-<pid>``). On an error
    the temp folder is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
