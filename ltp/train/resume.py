"""A stage's resume state, `<out>/.resume-<stage>/`: weights, optimizer moments, schedule,
RNG and position as safetensors + JSON (no pickle), and the settings it may continue with.

The on-disk layout is fixed (a run in progress resumes from it): model.safetensors,
optimizer.safetensors (tensors keyed "<param id>/<name>", or a lone "_empty") and state.json
(the caller's info + "optimizer", "scheduler", "torch_rng", "cuda_rng" when on CUDA).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ltp.checkpoint import trained_state
from ltp.files import atomic_dir, write_json_atomic
from ltp.train.config import TrainConfig

# What decides a stage's trajectory (besides stage, epochs, lr, examples, steps_per_epoch).
SETTINGS_KEYS = ("dataset", "backbone", "init", "max_train_examples", "val_examples", "max_length", "truncation",
                 "batch_size", "seed", "threshold_lr", "weight_decay", "warmup_ratio", "mask_lambda", "temperature",
                 "final_threshold", "n_ref", "freeze_embeddings", "topk_keep", "clamp_thresholds", "temperature_end",
                 "score", "key_fade", "regularizer", "target_flops_reduction", "target_lr", "target_rho",
                 "short_spans", "length_half", "teacher", "distill_alpha", "distill_temperature", "rank_distill",
                 "prune_first_layer", "min_keep", "soft_drop_below", "controller_signal", "calibrate")


def save_resume(path: Path, model, optimizer, scheduler, info: dict, frozen: list[str]) -> None:
    """Training state as safetensors + JSON (no pickle): weights, optimizer moments, position."""
    # The previous state stays in place until the new one is complete (a kill mid-save keeps it).
    with atomic_dir(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in trained_state(model, frozen).items()},
                  str(tmp / "model.safetensors"))
        sd = optimizer.state_dict()
        tensors, meta = {}, {"param_groups": sd["param_groups"], "state": {}}
        for pid, st in sd["state"].items():
            for k, v in st.items():
                if torch.is_tensor(v):
                    tensors[f"{pid}/{k}"] = v.detach().cpu().contiguous()
                else:
                    meta["state"].setdefault(str(pid), {})[k] = v
        save_file(tensors or {"_empty": torch.zeros(1)}, str(tmp / "optimizer.safetensors"))
        info = {**info, "optimizer": meta, "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state().tolist()}
        if torch.cuda.is_available():
            info["cuda_rng"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
        write_json_atomic(tmp / "state.json", info)


def load_resume(path: Path, model, optimizer, scheduler) -> dict:
    """Restore what save_resume wrote into model, optimizer, scheduler and the RNGs; returns state.json."""
    info = json.loads((path / "state.json").read_text())
    state = model.state_dict()
    state.update(load_file(str(path / "model.safetensors")))
    model.load_state_dict(state)
    tensors = load_file(str(path / "optimizer.safetensors"))
    st: dict = {}
    for key, v in tensors.items():
        if key == "_empty":
            continue
        pid, name = key.split("/", 1)
        st.setdefault(int(pid), {})[name] = v
    for pid, extra in info["optimizer"]["state"].items():
        st.setdefault(int(pid), {}).update(extra)
    optimizer.load_state_dict({"state": st, "param_groups": info["optimizer"]["param_groups"]})
    scheduler.load_state_dict(info["scheduler"])
    torch.set_rng_state(torch.tensor(info["torch_rng"], dtype=torch.uint8))
    if "cuda_rng" in info and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in info["cuda_rng"]])
    return info


def resume_settings(stage: str, cfg: TrainConfig, examples: int, steps_per_epoch: int) -> dict:
    """What decides a stage's trajectory: a resume state only continues a run with the same."""
    settings = {k: getattr(cfg, k) for k in SETTINGS_KEYS}
    settings.update(stage=stage, epochs=cfg.stage_epochs(stage), lr=cfg.stage_lr(stage), examples=examples,
                    steps_per_epoch=steps_per_epoch)
    return json.loads(json.dumps(settings))  # tuples as lists, as they come back from state.json


def check_resume_settings(resume_dir: Path, settings: dict) -> None:
    """Raise RuntimeError (saying what differs and what to do) if the state was trained otherwise."""
    try:
        saved = json.loads((resume_dir / "state.json").read_text()).get("settings")
    except (OSError, json.JSONDecodeError):
        raise RuntimeError(f"The resume state {resume_dir} is damaged; delete it to start the stage afresh.") from None
    if saved is None:
        return  # written by an older ltp-lens that did not record them
    # a setting the state does not name was added after it was written: it trained with its default
    diff = [f"{k} {saved.get(k)!r} -> {v!r}" for k, v in settings.items() if k in saved and saved[k] != v]
    if diff:
        raise RuntimeError(f"{resume_dir} holds an interrupted stage trained with other settings ({'; '.join(diff)}). "
                           "Rerun with the same options to continue it, or delete that directory to start afresh.")
