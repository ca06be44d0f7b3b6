"""Where the dashboard finds things, and what the public demo hides: the models and data folders
(``$LTP_MODELS_DIR``, ``$LTP_DATA_DIR``), the checkpoint picker's list and choice, paths and messages as
a page shows them."""

from __future__ import annotations

import os
from pathlib import Path

from ltp.checkpoint import find_checkpoint
from ltp.errors import CheckpointError


MODELS_DIR_ENV = "LTP_MODELS_DIR"
DATA_DIR_ENV = "LTP_DATA_DIR"
PUBLIC_ENV = "LTP_PUBLIC_DEMO"  # 1: the public-demo mode (what the Docker image runs)
PUBLIC_MAX_CHARS = 2000  # the live page's text limit in the public demo
TRAIN_COMMAND = "ltp train --dataset ag_news --out models/ag_news"


def models_dir(repo: Path) -> Path:
    """Where shipped checkpoints live: ``$LTP_MODELS_DIR`` if set, else ``<repo>/models``."""
    env = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path(repo) / "models"


def public_mode() -> bool:
    """The public-demo mode: no free path box, no server path on any page, bounded inputs and no
    heavy actions (``LTP_PUBLIC_DEMO=1``)."""
    return os.environ.get(PUBLIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def shown_path(path: str | Path, repo: Path, command: bool = False) -> str:
    """A path as a page shows it: relative to the repository when inside it
    (``models/ag_news-minilm-ltp``), else relative to the models folder; in a command to copy
    (``command``) a path outside the repository stays whole, except in the public demo, which
    shows no server path at all."""
    p = Path(path).expanduser().resolve()
    bases = [Path(repo).resolve()] + ([] if command and not public_mode() else [models_dir(repo).resolve()])
    for base in bases:
        try:
            return str(p.relative_to(base))
        except ValueError:
            continue
    return p.name if public_mode() else str(path)


def redact(message: str, repo: Path) -> str:
    """In the public demo, a message without the server's absolute folders (repository, models,
    data); elsewhere unchanged (the operator needs the paths to act on it)."""
    if not public_mode():
        return message
    for base, name in ((models_dir(repo), "models"), (data_dir(repo), "data"), (Path(repo), ".")):
        for form in {str(Path(base).resolve()), str(base)}:
            if form not in (".", ""):
                message = message.replace(form + "/", name + "/" if name != "." else "").replace(form, name)
    return message


def data_dir(repo: Path) -> Path:
    """Prepared data sets: ``$LTP_DATA_DIR`` if set, else ``<repo>/data`` (ltp.data's ./data
    when the app runs from the repository root)."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path(repo) / "data"


def prepare_hint(dataset: str, root: Path) -> str:
    """The command that prepares a data set into ``root`` (naming LTP_DATA_DIR only when ``root``
    is not where ltp would look by default from the working directory)."""
    from ltp.data import default_data_dir, prepare_command

    same = Path(root).resolve() == default_data_dir().resolve()
    return prepare_command(dataset, None if same else Path(root))


def dataset_prepared(dataset: str | None, root: Path, split: str = "test") -> bool:
    """True when ``root/<dataset>`` holds labels.json and the split's parquet file."""
    if not dataset:
        return False
    folder = Path(root) / dataset
    return (folder / "labels.json").is_file() and (folder / f"{split}.parquet").is_file()


def discover_checkpoints(root: Path) -> list[Path]:
    """Sorted subdirectories of ``root`` that are checkpoints (hold config.json) or training
    run dirs (a stage subdirectory holds one); empty when ``root`` does not exist."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            find_checkpoint(child)
        except CheckpointError:
            continue
        found.append(child)
    return found


def resolve_checkpoint(typed: str | None, chosen: Path | None, repo: Path) -> Path:
    """The checkpoint to show: a typed path (relative paths are tried against the working
    directory, then the repository) wins over the picked one. Raises CheckpointError."""
    typed = (typed or "").strip()
    if typed:
        path = Path(typed).expanduser()
        if not path.is_absolute() and not path.exists() and (Path(repo) / path).exists():
            path = Path(repo) / path
        return find_checkpoint(path)
    if chosen is None:
        raise CheckpointError(f"No checkpoint found. Make one with `{TRAIN_COMMAND}` (or copy a checkpoint "
                              f"directory into models/), or type a checkpoint or run directory in the sidebar.")
    return find_checkpoint(chosen)


def stamp(path: Path) -> float:
    """A cache key that changes when a file is rewritten (its mtime; 0.0 when missing)."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0
