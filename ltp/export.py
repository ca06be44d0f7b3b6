"""Ship a trained checkpoint as a self-contained model directory (the models/ the dashboard reads).

`export_model` copies the final LTP checkpoint, stores its own unpruned baseline's metrics under
"baseline/<split>" in metrics.json (so the comparison survives without the run directory), and
records the lineage: every training command and stage wall time, the baseline's included.
`write_card` (re)writes README.md from whatever is stored beside the weights: metrics, benchmark,
sweep and analysis bundle. Rerun it after `ltp evaluate / bench / sweep --store-in / analyze`.
A model dir also carries `examples.json`, a few texts of its own domain that the dashboard's live
page opens on: the source's own file if it has one, else short test texts, one per class.
`push_checkpoint` uploads a complete checkpoint folder to a Hub model repo (`ltp export --push-to-hub`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ltp.checkpoint import WEIGHTS, find_checkpoint, read_config
from ltp.errors import CheckpointError
from ltp.files import atomic_dir, write_json_atomic, write_text_atomic
from ltp.hub import parse_repo_id
from ltp.report import _f, _x, bench_markdown, quantization_markdown, sweep_markdown, views_markdown
from ltp.results import (BASELINE, LINEAGE, Results, ResultKey, find_baseline, int8_rows, keyed_results, load_results,
                         parse_results, read_json, read_lineage, read_metrics, same_examples)

EXAMPLES = "examples.json"  # {"examples": [{"text": ..., "label": ... (optional)}, ...]}; the first opens the page
COPIED = (WEIGHTS, "config.json", "metrics.json", "bench.json", "sweep.json", "train_log.jsonl", EXAMPLES)


def _lineage_entries(config: dict, path: Path) -> list[dict]:
    train = config.get("training") or {}
    return [{"stage": stage, "command": train.get("command"), "checkpoint": str(path),
             "epochs": info.get("epochs"), "examples": info.get("examples"), "lr": info.get("lr"),
             "wall_seconds": info.get("wall_seconds"), "data": (config.get("dataset") or {}).get("description")}
            for stage, info in (train.get("stages") or {}).items()]


def _baseline_lineage(base_config: dict, base: Path) -> list[dict]:
    """The baseline's stages: a shipped model's full lineage (its own baseline stage included)
    when the baseline is one, else the stages its config records."""
    return read_lineage(base).get("stages") or _lineage_entries(base_config, base)


def _checked_baseline(src: Path, config: dict, baseline: str | Path | None) -> tuple[Path, dict]:
    """The baseline checkpoint of ``src`` (``baseline`` if given, else found) and its config,
    after checking that it is a baseline with the same labels."""
    base = find_checkpoint(baseline) if baseline else find_baseline(src)
    if base is None:
        raise CheckpointError(f"Cannot find the baseline {src} was trained from; pass --baseline DIR.")
    base_config = read_config(base)
    # a pruned checkpoint may serve as the baseline when named explicitly: its weights with pruning
    # off are then "the model fine-tuned on the task" that a new LTP run started from (--init)
    if base_config.get("stage") != BASELINE and not baseline:
        raise CheckpointError(f"{base} is a {base_config.get('stage')} checkpoint, not a baseline; pass --baseline "
                              "DIR (a baseline, or the checkpoint this run was initialised from, evaluated with "
                              "--mode none or both).")
    if list(base_config.get("labels", [])) != list(config.get("labels", [])):
        raise CheckpointError(f"{base} has other labels than {src}; it is not this model's baseline.")
    return base, base_config


def export_model(source: str | Path, out: str | Path, baseline: str | Path | None = None, force: bool = False,
                 data_note: str | None = None, data_dir: str | Path | None = None) -> Path:
    """Copy a pruned checkpoint to `out` with its baseline's metrics and lineage (and `data_note`,
    where the training data came from, for the card) and its examples (the source's examples.json,
    else a few short test texts when the data set is prepared in `data_dir`); returns `out`."""
    src = find_checkpoint(source)
    config = read_config(src)
    if config.get("stage") == "baseline":
        raise CheckpointError(f"{src} is a baseline checkpoint; export the pruned (hard or topk) one.")
    base, base_config = _checked_baseline(src, config, baseline)
    base_metrics = {key.split: value for key, value in keyed_results(read_metrics(base))
                    if key.mode == "none" and key.quantization == "none"}
    if not base_metrics:
        raise CheckpointError(f"{base} has no unpruned metrics yet: run `ltp evaluate --checkpoint {base}` "
                              "on the same examples as the pruned model first.")
    out = Path(out)
    if out.exists() and not force:
        raise CheckpointError(f"{out} exists; pass --force to replace it (shipped weights are committed once).")
    metrics = read_metrics(src)
    own_results = parse_results(metrics, own_mode=config["ltp"]["mode"])
    for split, value in base_metrics.items():
        own = own_results.evaluation(split, own_results.own_mode)
        if own and own.sample != value.get("sample"):
            raise CheckpointError(f"{src} was evaluated on '{own.sample}' but its baseline on "
                                  f"'{value.get('sample')}'; evaluate both on the same examples.")
        metrics[str(ResultKey(split, BASELINE))] = dict(value, checkpoint=str(base))
    stages = {}  # a run that trained every stage records the baseline in both checkpoints: keep it once
    for entry in _baseline_lineage(base_config, base) + _lineage_entries(config, src):
        stages.setdefault((entry["stage"], entry["command"]), entry)
    lineage = {"source": str(src), "baseline": str(base), "data_note": data_note, "stages": list(stages.values())}
    if base_config.get("stage") != BASELINE:
        lineage["baseline_note"] = (f"the {base_config.get('stage')} checkpoint {base} with pruning off: the weights "
                                    "this model's pruning stages started from")
    with atomic_dir(out) as tmp:
        for name in COPIED:
            if (src / name).is_file():
                shutil.copy2(src / name, tmp / name)
        write_json_atomic(tmp / "metrics.json", metrics)
        write_json_atomic(tmp / LINEAGE, lineage)
        if not (tmp / EXAMPLES).is_file():
            examples = _test_examples(config, data_dir)
            if examples:
                write_json_atomic(tmp / EXAMPLES, {"source": "short texts of the test split, one per class",
                                                   "examples": examples})
        (tmp / "README.md").write_text(model_card(tmp, name=out.name))
    return out


# --------------------------------------------------------------------------- examples for the live page


def read_examples(path: str | Path) -> list[dict]:
    """The examples stored with a checkpoint (``examples.json``), each {"text", "label"} with
    display-clean text (entities decoded, white space folded); [] when there is no file. Raises
    ValueError, saying what the file must hold, when it is malformed."""
    from ltp.text import display_text

    file = Path(path) / EXAMPLES
    if not file.is_file():
        return []
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file} is not readable JSON ({err}); rewrite it or delete it.") from None
    items = record.get("examples") if isinstance(record, dict) else None
    if not isinstance(items, list) or not all(isinstance(e, dict) and isinstance(e.get("text"), str) for e in items):
        raise ValueError(f'{file} must hold {{"examples": [{{"text": "...", "label": "..."}}, ...]}}.')
    out = [{"text": display_text(e["text"]), "label": e.get("label")} for e in items]
    return [e for e in out if e["text"]]


def pick_examples(texts, labels, label_names, per_class: int = 1, max_words: int = 40, seed: int = 0) -> list[dict]:
    """Short display-clean texts, ``per_class`` of each class (a seeded choice among those of at
    most ``max_words`` words, else each text's first sentence), in class order."""
    import numpy as np

    from ltp.text import display_text, first_sentence

    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    out = []
    for c, name in enumerate(label_names):
        idx = np.flatnonzero(labels == c)
        shown = [(i, display_text(texts[i])) for i in rng.permutation(idx)[:200]]
        short = [(i, t) for i, t in shown if 3 <= len(t.split()) <= max_words]
        short += [(i, first_sentence(t)) for i, t in shown if len(t.split()) > max_words]
        short = [(i, t) for i, t in short if 3 <= len(t.split()) <= max_words]
        out += [{"text": t, "label": str(name)} for _, t in short[:per_class]]
    return out


def _test_examples(config: dict, data_dir: str | Path | None) -> list[dict]:
    """pick_examples of the checkpoint's test split, or [] when it is not prepared there."""
    from ltp.data import DataError, load_split

    name = (config.get("dataset") or {}).get("name")
    if not name:
        return []
    try:
        rows = load_split(name, "test", Path(data_dir) if data_dir is not None else None)
    except (DataError, OSError, ValueError):
        return []
    return pick_examples(rows["text"].tolist(), rows["label"].to_numpy(), config.get("labels", []))


# --------------------------------------------------------------------------- the model card


def _minutes(s) -> str:
    return "–" if s is None else f"{s / 60:.1f} min"


def model_card(path: str | Path, name: str | None = None) -> str:
    """Markdown model card from the files stored in a shipped model directory."""
    path = Path(path)
    config = read_config(path)
    results = load_results(path)
    analysis = read_json(path / "analysis" / "summary.json")
    ltp, bb, data = config["ltp"], config["backbone"], config.get("dataset") or {}
    out = [f"# {name or path.name}", "",
           f"Learned Token Pruning ({ltp['mode']} mode) on `{bb['spec']}` ({bb['model_type']}, {bb['num_layers']} "
           f"layers, {bb['hidden_size']} wide), fine-tuned for {data.get('name', '?')}: {', '.join(config['labels'])}.",
           "Produced by ltp-lens. Load it with `ltp prune --checkpoint DIR \"text\"`, in the dashboard, or with "
           "`ltp.checkpoint.load_checkpoint(DIR)`; the frozen parameters come from the backbone, whose sha256 is checked.",
           "", "## Results", ""]
    for split in results.splits:
        out += _results_section(results, split)
    for b in results.bench:
        out += [f"## Speed ({b.key}: {b.device})", "", bench_markdown(b), ""]
    if rows := int8_rows(results):
        out += ["## LTP with int8 (CPU)", "",
                "The encoder's linear layers quantized to int8 (`--int8`: int8 weights per output channel, "
                "int8 activations per token, int8 GEMM), the same thresholds; accuracy from `ltp evaluate --int8`, "
                "speed from `ltp bench --int8`.", "", quantization_markdown(rows), ""]
    if results.sweep and results.sweep.points:
        out += ["## Accuracy vs FLOPs (`sweep.json`)", "", sweep_markdown(results.sweep), ""]
    out += _training_section(config, results.lineage)
    if analysis.get("meta"):
        m = analysis["meta"]
        out += ["## Analysis bundle (`analysis/`)", "",
                f"`ltp analyze` on the {m['split']} split: {m['sample']}; {m['timings'].get('total_s', 0):.0f} s to build.", ""]
    return "\n".join(out)


def _results_section(results: Results, split: str) -> list[str]:
    """The card's lines for one split: baseline, LTP and pruning-off rows, the drop, short views."""
    mode = results.own_mode
    own, base = results.evaluation(split, mode), results.stored_baseline(split)
    if not own:
        return []
    out = [f"Split `{split}`: {own.sample}.", "",
           "| | accuracy | macro P | macro R | macro F1 | FLOPs reduction, honest (all tokens) "
           "| tokens alive after each layer |",
           "|---|---|---|---|---|---|---|"]
    for label, r in (("unpruned baseline", base), (f"LTP ({mode})", own),
                     ("same weights, pruning off", results.unpruned(split))):
        if r:
            alive = " → ".join(f"{a:.1f}" for a in r.tokens_alive_per_layer)
            acc, p, rec, f1 = (_f(x, ".4f") for x in (r.accuracy, r.precision_macro, r.recall_macro, r.f1_macro))
            out.append(f"| {label} | {acc} | {p} | {rec} | {f1} | {_x(r.flops_reduction)} "
                       f"({_x(r.flops_reduction_all_tokens)}) | {alive} |")
    if own.flops_ceiling:
        out += ["", f"Honest ceiling of this configuration on these texts: {_x(own.flops_ceiling)} (every pruning "
                "layer keeping only [CLS] and the content tokens it must keep; `ltp.flops.honest_ceiling`)"
                + (f"; {100 * own.content_to_last_layer:.1f}% of the texts keep a content token into the last layer"
                   if own.content_to_last_layer is not None else "") + "."]
    if base:
        drop = 100 * (base.accuracy - own.accuracy)
        out += ["", (f"Accuracy drop against the unpruned baseline: {drop:.2f} points" if drop >= 0 else
                     f"Accuracy drop against the unpruned baseline: none (LTP is {-drop:.2f} points above it)")
                + ("" if same_examples(base, own) else
                   f" (**not comparable**: the baseline was measured on {base.sample})") + "."]
    if views_markdown(own):
        out += ["", "Short inputs (each test text's first sentence and first 12 words, the same weights with "
                "pruning off and on):", "", views_markdown(own)]
    return out + [""]


def _training_section(config: dict, lineage: dict) -> list[str]:
    """The card's training lines: data, settings, learned thresholds, and the stages as run."""
    from ltp.data import DATASETS

    ltp, data = config["ltp"], config.get("dataset") or {}
    spec = DATASETS.get(data.get("name", ""))
    out = ["## Training", "", f"- Data set: {spec.description if spec else data.get('name', 'n/a')}"]
    if lineage.get("data_note"):
        out.append(f"- Source: {lineage['data_note']}")
    out += [f"- Training rows: {data.get('description', 'n/a')}",
            f"- Max length {config['max_length']} tokens, {config['truncation']} truncation; N_ref = {ltp['n_ref']}; "
            f"lambda {ltp['mask_lambda']:g}, temperature {ltp['temperature']:g}, final threshold {ltp['final_threshold']:g}; "
            f"score {ltp.get('score', 'paper')}, regulariser {ltp.get('regularizer', 'kept')}, "
            f"length-aware thresholds {'h = %g' % ltp['length_half'] if ltp.get('length_half') else 'off'}",
            f"- Learned thresholds per layer: {', '.join(f'{t:.5f}' for t in config['thresholds'])} (layer 1 never prunes)",
            f"- Frozen (taken from the backbone): {', '.join(config.get('frozen_parameters', [])) or 'nothing'}; "
            f"weights stored as {config.get('weights_dtype', 'float32')}", ""]
    stages = lineage.get("stages", [])
    if stages:
        out += ["| stage | epochs | examples | LR | wall time |", "|---|---|---|---|---|"]
        out += [f"| {s['stage']} | {s['epochs']} | {s['examples']} | {s['lr']} | {_minutes(s['wall_seconds'])} |"
                for s in stages]
        out += ["", "Commands (as run, on a 2-core CPU often shared with other runs: the wall times are upper "
                "bounds):", ""]
        for cmd in dict.fromkeys(s["command"] for s in stages if s.get("command")):
            out.append(f"    {cmd}")
        out.append("")
    out += _calibration_lines(config.get("training") or {})
    return out


def _calibration_lines(training: dict) -> list[str]:
    """The threshold calibrations after training: the hard stage's last one and any `ltp calibrate`."""
    def line(what: str, c: dict) -> str:
        took = f", {_minutes(c['wall_seconds'])}" if c.get("wall_seconds") is not None else ""
        return (f"- {what}: thresholds scaled by {c['scale']:.4f} so the binarised model goes from "
                f"{c['before']:.3f}x to {c['reached']:.3f}x FLOPs reduction on {c['examples']} train texts{took}")
    out = [line(f"End of the {name} stage", info["final_calibration"])
           for name, info in (training.get("stages") or {}).items() if info.get("final_calibration")]
    out += [line(f"`ltp calibrate --target-flops-reduction {c['target']:g}` ({c.get('when', '?')[:10]})", c)
            for c in training.get("calibrations", [])]
    return out + [""] if out else []


def write_card(path: str | Path) -> Path:
    """Rewrite README.md of a shipped model from its stored files."""
    path = find_checkpoint(path)
    card = path / "README.md"
    write_text_atomic(card, model_card(path))
    return card


# --------------------------------------------------------------------------- sharing on the Hub


def push_checkpoint(path: str | Path, repo_id: str, private: bool = False, token: str | None = None,
                    revision: str | None = None) -> str:
    """Upload a complete local checkpoint folder to Hub model repo `repo_id` (created if
    missing) and return the repo's URL; refuses a folder that is not a complete checkpoint."""
    from huggingface_hub import HfApi

    folder = _complete_checkpoint(path)
    if parse_repo_id(repo_id) is None or "@" in repo_id:
        raise CheckpointError(f"{repo_id!r} is not a Hub repo id: use owner/name (pass a branch as revision).")
    api = HfApi(token=token)
    try:
        url = str(api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model"))
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), revision=revision, repo_type="model",
                          commit_message=f"Upload ltp-lens checkpoint ({folder.name})",
                          ignore_patterns=[".*", "**/.*"])  # no half-written temporary folders
    except Exception as err:  # noqa: BLE001 - HTTP, auth and network errors come in many types
        raise CheckpointError(f"Could not push {folder} to {repo_id}: {err}. Log in first (`hf auth login` "
                              "or HF_TOKEN with write access) and check your network.") from err
    return f"{url}/tree/{revision}" if revision else url


def _complete_checkpoint(path: str | Path) -> Path:
    """The local checkpoint folder behind `path` (a checkpoint or run dir) once its config and
    weights are known to load; CheckpointError otherwise."""
    if not Path(path).is_dir():
        raise CheckpointError(f"Cannot push {path}: it is not a local folder. Pass the checkpoint directory "
                              "(the one holding config.json and model.safetensors).")
    folder = find_checkpoint(path)
    read_config(folder)
    if not (folder / WEIGHTS).is_file():
        raise CheckpointError(f"Cannot push {folder}: it has no {WEIGHTS}, so it is incomplete. "
                              "Retrain or restore it first.")
    return folder
