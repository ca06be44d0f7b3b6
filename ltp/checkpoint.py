"""Self-describing checkpoints: save, find (a folder, a run or a Hub repo id), load.

A checkpoint is a directory:
    config.json        everything needed to rebuild the model (backbone id + sha256, labels,
                       max length, N_ref, thresholds, pruning hyper-parameters, data, version)
    model.safetensors  only the parameters training changed (frozen ones come from the backbone)
    metrics.json       evaluation results (written by `ltp evaluate`)
    train_log.jsonl    per-epoch training metrics
    README.md          model card
No pickle anywhere. Saves are atomic: files go to a hidden temporary directory that is renamed
into place once complete, so an interrupted save never leaves a valid-looking checkpoint.
Where a backbone comes from and how it is built live in ltp/backbones.py; a Hub repo id is
resolved through ltp/hub.py (which imports nothing of this module); pushing a shipped model to
the Hub lives in ltp/export.py.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ltp import __version__
from ltp.backbones import backbone_sha256, load_tokenizer
from ltp.errors import CheckpointError
from ltp.files import atomic_dir, write_json_atomic
from ltp.hub import is_repo_id, snapshot_checkpoint
from ltp.model import LTPConfig, LTPForSequenceClassification, build_model

FORMAT = "ltp-lens-checkpoint"
FORMAT_VERSION = 1
STAGES = ("baseline", "soft", "hard")  # the LTP procedure, in order
ALL_STAGES = (*STAGES, "topk")  # topk: the fixed-fraction comparison baseline, trained from a baseline
WEIGHTS = "model.safetensors"


# --------------------------------------------------------------------------- saving


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, on CPU), its tokenizer and its config."""

    model: LTPForSequenceClassification
    tokenizer: object
    config: dict
    path: Path

    @property
    def label_names(self) -> list[str]:
        return self.config["labels"]

    @property
    def max_length(self) -> int:
        return self.config["max_length"]

    @property
    def truncation(self) -> str:
        return self.config.get("truncation", "head")


def trained_state(model: LTPForSequenceClassification, frozen: list[str]) -> dict[str, torch.Tensor]:
    """All parameters and buffers except the frozen ones (those come from the backbone)."""
    state = model.state_dict()
    frozen = set(frozen)
    return {k: v for k, v in state.items() if k not in frozen}


def save_checkpoint(
    model: LTPForSequenceClassification,
    path: str | Path,
    *,
    backbone: str,
    label_names: list[str],
    max_length: int,
    stage: str,
    frozen: list[str],
    truncation: str = "head",
    dataset: dict | None = None,
    training: dict | None = None,
    dtype: str = "float32",
    extra_files: dict[str, str | bytes] | None = None,
    model_card: str | None = None,
) -> Path:
    """Write a checkpoint directory atomically and return its path.

    Longer than most functions because config.json is spelled out key by key here: the on-disk
    format is readable in one place.
    """
    if stage not in ALL_STAGES:
        raise ValueError(f"stage must be one of {ALL_STAGES}, got {stage!r}")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
    path = Path(path)
    tensors = _stored_tensors(model, frozen, dtype)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "stage": stage,
        "backbone": _backbone_record(model, backbone),
        "labels": list(label_names),
        "max_length": int(max_length),
        "truncation": truncation,
        "ltp": model.ltp_config.to_dict(),
        "thresholds": [round(float(t), 8) for t in model.thresholds().detach()],
        "frozen_parameters": list(frozen),
        "weights_dtype": dtype,
        "dataset": dataset or {},
        "training": training or {},
    }
    with atomic_dir(path) as tmp:
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        for name, content in (extra_files or {}).items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(tmp / name, mode) as f:
                f.write(content)
        (tmp / "README.md").write_text(model_card or default_model_card(config))
        write_json_atomic(tmp / "config.json", config)  # last: a dir without it is not a checkpoint
    return path


def _stored_tensors(model: LTPForSequenceClassification, frozen: list[str], dtype: str) -> dict[str, torch.Tensor]:
    """The trained tensors as stored: in `dtype`, except the thresholds (always float32)."""
    torch_dtype = getattr(torch, dtype)
    state = trained_state(model, frozen)
    tensors = {k: (v.to(torch_dtype) if v.is_floating_point() and k != "threshold_offsets" else v) for k, v in state.items()}
    return {k: v.detach().cpu().contiguous() for k, v in tensors.items()}


def _backbone_record(model: LTPForSequenceClassification, backbone: str) -> dict:
    """What config.json records of the backbone: its spec, weights fingerprint and shape."""
    hfc = model.hf.config
    return {
        "spec": backbone,
        "sha256": backbone_sha256(backbone),
        "model_type": hfc.model_type,
        "num_layers": hfc.num_hidden_layers,
        "hidden_size": hfc.hidden_size,
        "intermediate_size": model.intermediate_size,
        "num_heads": hfc.num_attention_heads,
    }


def default_model_card(config: dict) -> str:
    """A short model card from the config (training scripts may pass a richer one)."""
    ltp = config["ltp"]
    data = config.get("dataset") or {}
    train = config.get("training") or {}
    lines = [
        f"# ltp-lens checkpoint ({config['stage']} stage)",
        "",
        f"- Backbone: `{config['backbone']['spec']}` ({config['backbone']['model_type']}, "
        f"{config['backbone']['num_layers']} layers), sha256 `{config['backbone']['sha256']}`",
        f"- Labels: {', '.join(config['labels'])}",
        f"- Max length: {config['max_length']} tokens ({config['truncation']} truncation); N_ref = {ltp['n_ref']}",
        f"- Pruning mode: {ltp['mode']}; final threshold f = {ltp['final_threshold']:.5g}, "
        f"temperature {ltp['temperature']:g}, lambda {ltp['mask_lambda']:g}",
        f"- Thresholds per layer: {', '.join(f'{t:.5f}' for t in config['thresholds'])} (layer 1 never prunes)",
        f"- Data: {data.get('description', 'n/a')}",
    ]
    if train.get("command"):
        lines.append(f"- Training command: `{train['command']}`")
    for stage, info in (train.get("stages") or {}).items():
        lines.append(f"- Stage {stage}: {info.get('epochs')} epoch(s), {info.get('examples')} examples, "
                     f"{info.get('wall_seconds', 0):.0f} s wall")
    lines += ["", "Produced by ltp-lens; load with `ltp.checkpoint.load_checkpoint(path_or_hub_repo_id)`.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- loading


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint dir, a training run dir (then its latest finished stage), or, when no such
    local path exists, a Hub repo id "owner/name[@revision]" (through the HF cache, ltp/hub.py)."""
    p = Path(path)
    if not p.exists() and is_repo_id(str(path)):
        p = snapshot_checkpoint(str(path))
    if not p.exists():
        raise CheckpointError(f"No checkpoint at {p}: the path does not exist. Train one with `ltp train`, "
                              "pass a directory that contains config.json and model.safetensors, "
                              "or a Hub repo id (owner/name).")
    if p.is_file():
        raise CheckpointError(f"{p} is a file; pass the checkpoint directory (the one holding config.json).")
    if (p / "config.json").is_file():
        return p
    for stage in ("hard", "topk", "soft", "baseline"):  # the most finished stage first
        if (p / stage / "config.json").is_file():
            return p / stage
    raise CheckpointError(f"{p} is not an ltp-lens checkpoint (no config.json). Pass a directory written "
                          "by `ltp train` (a run dir or one of its stage dirs).")


def read_config(path: Path) -> dict:
    """A checkpoint's config.json, checked to be ours, not newer than this code, and complete."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path / 'config.json'} is corrupt (not JSON: {err}). Retrain or restore the checkpoint.") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path} holds a foreign config.json (not an ltp-lens checkpoint). "
                              "Hugging Face models are backbones: pass them with --backbone to `ltp train`.")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer ltp-lens (format {config['format_version']}); upgrade ltp-lens.")
    missing = [k for k in ("stage", "backbone", "labels", "max_length", "ltp") if k not in config]
    missing += [f"backbone.{k}" for k in ("spec", "model_type", "num_layers", "hidden_size")
                if k not in config.get("backbone", {})]
    if missing:
        raise CheckpointError(f"{path / 'config.json'} is incomplete (missing {', '.join(missing)}); retrain or restore it.")
    return config


def load_checkpoint(path: str | Path, backbone: str | None = None, check_backbone: bool = True) -> Checkpoint:
    """Load a checkpoint (a folder, a run dir or a Hub repo id); every problem raises
    CheckpointError with what to do.

    Args:
        backbone: overrides the backbone recorded in the checkpoint (a local copy of it).
        check_backbone: compare the backbone's sha256 with the recorded one.
    """
    path = find_checkpoint(path)
    config = read_config(path)
    wfile = path / WEIGHTS
    if not wfile.is_file():
        raise CheckpointError(f"{path} has no {WEIGHTS}: the checkpoint is incomplete. Retrain or restore it.")
    try:
        tensors = load_file(str(wfile))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{wfile} is corrupt or not a safetensors file ({err}). Retrain or restore it.") from err
    spec = backbone or config["backbone"]["spec"]
    if check_backbone:
        _check_backbone_weights(spec, config["backbone"].get("sha256"), path)
    model = build_model(spec, config["labels"], LTPConfig.from_dict(config["ltp"]))
    _check_architecture(model, config, path)
    _load_tensors(model, tensors, config, path)
    model.set_mode(config["ltp"]["mode"])
    model.eval()
    return Checkpoint(model=model, tokenizer=load_tokenizer(spec), config=config, path=path)


def _check_backbone_weights(spec: str, expected: str | None, path: Path) -> None:
    """The backbone's weights are the ones the checkpoint was trained on (when it recorded them)."""
    if not expected:
        return
    actual = backbone_sha256(spec)
    if actual is None:
        raise CheckpointError(f"Backbone {spec!r} is not available locally, so its weights cannot be checked. "
                              "Connect to the Hub once or pass --backbone with a local copy.")
    if actual != expected:
        raise CheckpointError(
            f"Backbone mismatch: {path} was trained on weights with sha256 {expected[:12]}..., "
            f"but {spec!r} has {actual[:12]}.... Pass --backbone with the original backbone."
        )


def _check_architecture(model: LTPForSequenceClassification, config: dict, path: Path) -> None:
    """The backbone built now has the type and shape the checkpoint was trained on."""
    want = config["backbone"]
    hfc = model.hf.config
    got = {"model_type": hfc.model_type, "num_layers": hfc.num_hidden_layers, "hidden_size": hfc.hidden_size}
    for key, value in got.items():
        if want.get(key) != value:
            raise CheckpointError(f"Backbone mismatch in {path}: checkpoint has {key}={want.get(key)}, "
                                  f"backbone has {value}. Pass --backbone with the original backbone.")


def _load_tensors(model: LTPForSequenceClassification, tensors: dict, config: dict, path: Path) -> None:
    """Put the stored (trained) tensors into the model, strictly: names and shapes must match."""
    expected = trained_state(model, config.get("frozen_parameters", []))
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{path / WEIGHTS} does not match the model: missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}. The file is foreign or corrupt; retrain.")
    for k, v in tensors.items():
        if v.shape != expected[k].shape:
            hint = " (the number of labels differs from config.json)" if "classifier" in k else ""
            raise CheckpointError(f"Label/shape mismatch in {path}: {k} has shape {tuple(v.shape)}, "
                                  f"model expects {tuple(expected[k].shape)}{hint}.")
    state = model.state_dict()
    state.update({k: v.to(state[k].dtype) for k, v in tensors.items()})
    model.load_state_dict(state, strict=True)


__all__ = [
    "ALL_STAGES",
    "STAGES",
    "WEIGHTS",
    "Checkpoint",
    "default_model_card",
    "find_checkpoint",
    "load_checkpoint",
    "read_config",
    "save_checkpoint",
    "trained_state",
]
