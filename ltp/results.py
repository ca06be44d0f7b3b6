"""Reading the results stored beside a checkpoint: metrics.json, bench.json, sweep.json, lineage.json.

The one place that knows their layout: a metrics.json key is ``<split>/<mode>`` (``test/hard``),
or ``baseline/<split>`` for the unpruned baseline's result copied in by ``ltp export``
(``ResultKey``); the baseline of a pruned checkpoint is its run's sibling ``baseline`` stage or
the checkpoint its training started from (``find_baseline``); a checkpoint "with pruning on"
runs in its own mode when that prunes, else in hard mode (``pruning_mode``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ltp.checkpoint import CheckpointError, find_checkpoint, read_config

METRICS, BENCH, SWEEP, LINEAGE = "metrics.json", "bench.json", "sweep.json", "lineage.json"
BASELINE = "baseline"  # the "mode" of a stored baseline result ("baseline/<split>")
PRUNING_MODES = ("hard", "topk")  # modes that prune at inference (soft only scales)


class ResultsError(CheckpointError):
    """A stored results file is damaged; the message names the command that rewrites it."""


@dataclass(frozen=True)
class ResultKey:
    """A metrics.json key: one evaluation of one split in one pruning mode (or the baseline's)."""

    split: str  # "test", "train", ...
    mode: str  # "none" | "soft" | "hard" | "topk", or BASELINE for the stored baseline result
    quantization: str = "none"  # "none" (fp32 weights), or "int8" (linear layers): key suffix "+int8"

    def __str__(self) -> str:
        key = f"{BASELINE}/{self.split}" if self.mode == BASELINE else f"{self.split}/{self.mode}"
        return key if self.quantization == "none" else f"{key}+{self.quantization}"

    @classmethod
    def parse(cls, key: str) -> ResultKey:
        """``"test/hard"`` -> ResultKey("test", "hard"); ``"test/hard+int8"`` -> its int8 run;
        ``"baseline/test"`` -> ResultKey("test", BASELINE)."""
        key, _, quantization = key.partition("+")
        first, sep, second = key.partition("/")
        if not sep or not first or not second:
            raise ValueError(f"{key!r} is not a results key: expected '<split>/<mode>' or 'baseline/<split>'.")
        quantization = quantization or "none"
        return cls(second, BASELINE, quantization) if first == BASELINE else cls(first, second, quantization)


def keyed_results(metrics: dict) -> list[tuple[ResultKey, dict]]:
    """The results of a metrics.json with their parsed keys (entries that are not results skipped)."""
    out = []
    for key, value in metrics.items():
        try:
            out.append((ResultKey.parse(key), value))
        except ValueError:
            continue
    return out


def pruning_mode(own_mode: str) -> str:
    """The mode that runs a checkpoint "with pruning on": its own if that prunes, else hard."""
    return own_mode if own_mode in PRUNING_MODES else "hard"


# --------------------------------------------------------------------------- files


def read_json(path: Path) -> dict | list:
    """A stored JSON file; {} when it is missing. Raises ResultsError when it is damaged."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultsError(f"{path} is corrupt ({err}); rerun the command that writes it.") from err
    if not isinstance(data, (dict, list)):
        raise ResultsError(f"{path} does not hold a JSON object; rerun the command that writes it.")
    return data


def _object(path: Path, command: str) -> dict:
    data = read_json(path)
    if not isinstance(data, dict):
        raise ResultsError(f"{path} must hold a JSON object; rerun `{command}`.")
    return data


def read_metrics(ckpt: Path) -> dict:
    """metrics.json of a checkpoint dir ({} when not evaluated yet)."""
    return _object(Path(ckpt) / METRICS, "ltp evaluate")


def read_bench(ckpt: Path) -> dict:
    """bench.json of a checkpoint dir: {device key: benchmark} ({} when not measured)."""
    return _object(Path(ckpt) / BENCH, "ltp bench")


def read_lineage(ckpt: Path) -> dict:
    """lineage.json of a shipped model ({} for a plain checkpoint)."""
    return _object(Path(ckpt) / LINEAGE, "ltp export")


def read_sweep(ckpt: Path) -> dict:
    """sweep.json as ``ltp sweep``'s record {"points": [...], ...} ({} when missing); an older
    file holding the bare list of points is read as {"points": [...]}."""
    data = read_json(Path(ckpt) / SWEEP)
    return {"points": data} if isinstance(data, list) else data


def read_or_empty(read, ckpt: Path) -> dict:
    """``read(ckpt)``, or {} when the file is damaged (for summaries where unreadable counts as
    not measured)."""
    try:
        return read(ckpt)
    except ResultsError:
        return {}


# --------------------------------------------------------------------------- one result


def stored_result(metrics: dict, split: str, mode: str, quantization: str = "none") -> dict | None:
    """The stored result under ResultKey(split, mode, quantization), None when absent."""
    found = metrics.get(str(ResultKey(split, mode, quantization)))
    return found if isinstance(found, dict) else None


def pruned_result(metrics: dict, own_mode: str, split: str = "test") -> dict | None:
    """The result with pruning on (``pruning_mode``), else the checkpoint's own mode's."""
    return stored_result(metrics, split, pruning_mode(own_mode)) or stored_result(metrics, split, own_mode)


def headline_result(metrics: dict, own_mode: str, split: str = "test") -> dict:
    """The result shown first for a checkpoint: its own mode's, else hard, else unpruned ({})."""
    for mode in (own_mode, "hard", "none"):
        found = stored_result(metrics, split, mode)
        if found:
            return found
    return {}


def same_examples(a: dict | None, b: dict | None) -> bool:
    """True when two results were measured on the same examples (a drop compares only those)."""
    return bool(a) and bool(b) and a.get("sample") == b.get("sample")


def flops_columns(result: dict | None) -> tuple[float | None, float | None]:
    """(honest, all-tokens) FLOPs reduction of one stored evaluation. A result written before
    the honest accounting stored only the all-tokens ratio (under "flops_reduction")."""
    if not result:
        return None, None
    if "flops_accounting" in result:
        return result.get("flops_reduction"), result.get("flops_reduction_all_tokens")
    if result.get("mode") == "none" and result.get("flops_reduction") == 1:
        return 1.0, 1.0  # an unpruned pass saves nothing under either count
    return None, result.get("flops_reduction")


def short_views(result: dict | None) -> dict:
    """{view: {"accuracy_off", "accuracy_on", "drop_points", "flops_reduction", ...}} of one
    stored evaluation ({} when it has none)."""
    return (result or {}).get("views") or {}


# --------------------------------------------------------------------------- the baseline


def _init_path(config: dict, repo: Path | None) -> Path | None:
    """The checkpoint a training run started from (``--init``); a relative path is tried as
    given, then against ``repo``."""
    init = ((config.get("training") or {}).get("config") or {}).get("init")
    if not init:
        return None
    path = Path(init)
    if not path.is_absolute() and not path.exists() and repo is not None:
        path = Path(repo) / path
    return path


def find_baseline(ckpt: Path, repo: Path | None = None) -> Path | None:
    """The baseline checkpoint a pruned one was trained from: its run's sibling ``baseline``
    stage, or the checkpoint its training was initialised from, when that is a baseline."""
    ckpt = Path(ckpt)
    try:
        config = read_config(ckpt)
    except CheckpointError:
        return None
    for candidate in (ckpt.parent / BASELINE, _init_path(config, repo)):
        if candidate is None:
            continue
        try:
            found = find_checkpoint(candidate)
            if found.resolve() != ckpt.resolve() and read_config(found).get("stage") == BASELINE:
                return found
        except CheckpointError:
            continue
    return None


def baseline_result(ckpt: Path, split: str = "test", repo: Path | None = None,
                    metrics: dict | None = None) -> dict | None:
    """The unpruned baseline's result on a split: stored in the checkpoint under
    "baseline/<split>" (shipped models), else the ``<split>/none`` result of ``find_baseline``.
    Compare with ``same_examples`` before taking a difference."""
    own = stored_result(read_metrics(ckpt) if metrics is None else metrics, split, BASELINE)
    if own:
        return own
    base = find_baseline(ckpt, repo)
    if base is None:
        return None
    return stored_result(read_or_empty(read_metrics, base), split, "none")


# --------------------------------------------------------------------------- int8 beside fp32


def quantization_rows(metrics: dict, bench: dict, own_mode: str, split: str = "test") -> list[dict]:
    """fp32 and int8, each with pruning off and on: accuracy (metrics.json), FLOPs reduction and
    throughput (bench.json's cpu entry), every speed-up against unpruned fp32. [] when no int8
    result is stored (``ltp evaluate --int8``, ``ltp bench --int8``)."""
    pruning = pruning_mode(own_mode)
    b = bench.get("cpu") if isinstance(bench.get("cpu"), dict) else {}
    q = b.get("int8") or {}
    if not q and not stored_result(metrics, split, pruning, "int8"):
        return []
    sizes = [k.removeprefix("throughput_bs") for k in b.get("none", {}) if k.startswith("throughput_bs")
             and not k.endswith("_runs")]
    bs = sizes[0] if sizes else None
    base = (b.get("none") or {}).get(f"throughput_bs{bs}")
    timed = {("none", "none"): b.get("none"), (pruning, "none"): b.get("hard"),
             ("none", "int8"): q.get("none"), (pruning, "int8"): q.get("hard")}
    rows = []
    for quant in ("none", "int8"):
        for mode in ("none", pruning):
            res, t = stored_result(metrics, split, mode, quant) or {}, timed.get((mode, quant)) or {}
            speed = t.get(f"throughput_bs{bs}")
            rows.append({"weights": "fp32" if quant == "none" else "int8", "pruning": "off" if mode == "none" else mode,
                         "accuracy": res.get("accuracy"),
                         "flops_reduction": flops_columns(res)[0] if res else None,
                         "batch": int(bs) if bs else None, "throughput": speed,
                         "speedup_vs_fp32_off": speed / base if speed and base else None,
                         "int8_backend": (t.get("int8_backend") or res.get("int8_backend")) if quant == "int8" else None})
    return rows
