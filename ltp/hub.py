"""Checkpoints on the Hugging Face Hub: a repo id's form, and fetching its snapshot folder.

ltp/checkpoint.py resolves a repo id through this module, which knows nothing of the checkpoint
format (imports go one way); pushing a shipped model is ltp/export.py's `push_checkpoint`.
A checkpoint folder is pushed as it is (config.json, model.safetensors, README.md model card,
metrics ...), so the repo's snapshot is a checkpoint folder and `load_checkpoint("owner/name")`
(or "owner/name@revision") loads it through the standard HF cache. Downloads honour
HF_HUB_CACHE and HF_HUB_OFFLINE as set when called. Every Hub failure becomes a
CheckpointError that says what to do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ltp.errors import CheckpointError

# "owner/name" or "owner/name@revision" (a branch, tag or commit)
_REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<revision>[\w./-]+))?$")


def parse_repo_id(spec: str) -> tuple[str, str | None] | None:
    """("owner/name", revision or None) when `spec` has the form of a Hub repo id, else None."""
    match = _REPO_ID.match(str(spec))
    if match is None or match["repo"].endswith((".", "-")) or ".." in match["repo"]:
        return None
    return match["repo"], match["revision"]


def is_repo_id(spec: str) -> bool:
    return parse_repo_id(spec) is not None


def _offline() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub reads it once, at import)."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE")
    return constants.HF_HUB_OFFLINE if value is None else value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def snapshot_checkpoint(spec: str) -> Path:
    """The local folder of Hub checkpoint `spec` ("owner/name[@revision]"): from the HF cache,
    downloaded first when the Hub is reachable. Raises CheckpointError with what to do."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    parsed = parse_repo_id(spec)
    if parsed is None:
        raise CheckpointError(f"{spec!r} is not a Hub repo id: use owner/name or owner/name@revision.")
    repo, revision = parsed
    where = f"No checkpoint at {spec}: the path does not exist, and as a Hub repo"
    try:
        return Path(snapshot_download(repo_id=repo, revision=revision, cache_dir=os.environ.get("HF_HUB_CACHE"),
                                      local_files_only=_offline()))
    except GatedRepoError:
        raise CheckpointError(f"{where} {repo} is gated: accept its terms on the Hub, then log in "
                              "(`hf auth login`) and try again.") from None
    except RevisionNotFoundError:
        raise CheckpointError(f"{where} {repo} has no revision {revision!r}: pass an existing branch, "
                              "tag or commit after the @.") from None
    except RepositoryNotFoundError:
        raise CheckpointError(f"{where} {repo} does not exist (or is private: log in with `hf auth login`). "
                              "Check the repo id, or pass a local checkpoint directory.") from None
    except Exception as err:  # noqa: BLE001 - offline, no network, Hub down: one clear sentence
        raise CheckpointError(
            f"{where} {repo} is not in the local Hugging Face cache and could not be downloaded "
            f"({type(err).__name__}). Connect to the Hub once (unset HF_HUB_OFFLINE) to download it, "
            "or pass a local checkpoint directory."
        ) from None


__all__ = ["is_repo_id", "parse_repo_id", "snapshot_checkpoint"]
