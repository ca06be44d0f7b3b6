"""Re-target a finished checkpoint: scale its learned thresholds so that the binarised model
reaches a FLOPs reduction on training texts (`ltp calibrate`), the same step the hard stage
ends with (``controller.final_calibration``) for a run trained before that step existed or to
move a model to another operating point without training."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from ltp.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from ltp.errors import CheckpointError
from ltp.train.controller import FINAL_CALIBRATION_EXAMPLES, final_calibration

STALE = ("metrics.json", "bench.json", "analysis")  # measured with the old thresholds
REGENERATED = ("README.md", "config.json", "model.safetensors")  # written anew by save_checkpoint


def recalibrate_checkpoint(path: str | Path, target: float, *, examples: int | None = None, seed: int = 43,
                           data_dir: Path | None = None, out: str | Path | None = None,
                           backbone: str | None = None) -> dict:
    """Calibrate ``path``'s thresholds to ``target`` and write the checkpoint to ``out`` (default:
    in place, atomically). Returns the calibration record plus ``path`` and ``removed`` (stale
    measurements not carried over). Raises CheckpointError / DataError / ValueError."""
    from ltp import data
    from ltp.text import encode

    if not target or target <= 1:
        raise ValueError(f"--target-flops-reduction must be above 1 (e.g. 2.5), got {target}.")
    examples = FINAL_CALIBRATION_EXAMPLES if examples is None else examples
    if examples < 16:
        raise ValueError(f"--examples must be at least 16 train texts, got {examples}.")
    source = find_checkpoint(path)
    ck = load_checkpoint(source, backbone=backbone)
    mode = ck.model.ltp_config.mode
    if mode not in ("soft", "hard"):
        raise CheckpointError(f"{source} prunes in {mode!r} mode: only soft/hard checkpoints have learned thresholds "
                              "to calibrate.")
    target_dir = Path(out) if out else source
    if target_dir.resolve() != source.resolve() and target_dir.exists():
        raise ValueError(f"{target_dir} exists; choose a new --out folder (or leave --out out to calibrate in place).")
    folders = [p.name for p in source.iterdir() if p.is_dir() and p.name not in STALE]
    if not out and folders:
        raise ValueError(f"{source} holds folder(s) {folders} that an in-place calibration would not carry; "
                         "write the calibrated checkpoint elsewhere with --out.")
    name = (ck.config.get("dataset") or {}).get("name")
    if not name:
        raise CheckpointError(f"{source} does not record its data set; it cannot be calibrated on its training texts.")
    train = data.load_split(name, "train", data_dir)
    if len(train) == 0:
        raise data.DataError(f"The train split of {name} is empty; prepare it again.")
    rows = data.stratified_sample(train, min(examples, len(train)), seed)
    ids = encode(ck.tokenizer, rows["text"].tolist(), ck.max_length, ck.truncation).input_ids
    record = final_calibration(ck.model, ids, ck.tokenizer.pad_token_id, target, examples=len(ids), seed=seed)
    record |= {"when": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "data": f"{name} train",
               "seed": seed}

    config = ck.config
    training = dict(config.get("training") or {})
    training["calibrations"] = [*training.get("calibrations", []), record]
    carried, removed = {}, []
    for p in sorted(source.iterdir()):
        if p.name in STALE:
            removed.append(p.name)
        elif p.is_file() and p.name not in REGENERATED:
            carried[p.name] = p.read_bytes()
    log = {"stage": config["stage"], "event": "recalibrated (ltp calibrate)", **record}
    carried["train_log.jsonl"] = carried.get("train_log.jsonl", b"") + (json.dumps(log) + "\n").encode()
    save_checkpoint(
        ck.model, target_dir, backbone=config["backbone"]["spec"], label_names=config["labels"],
        max_length=config["max_length"], stage=config["stage"], frozen=config.get("frozen_parameters", []),
        truncation=config.get("truncation", "head"), dataset=config.get("dataset"), training=training,
        dtype=config.get("weights_dtype", "float32"), extra_files=carried,
    )
    return record | {"path": str(target_dir), "removed": removed}
