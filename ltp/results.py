"""Reading the results stored beside a checkpoint: metrics.json, bench.json, sweep.json, lineage.json.

The one place that knows their layout: a metrics.json key is ``<split>/<mode>`` (``test/hard``),
or ``baseline/<split>`` for the unpruned baseline's result copied in by ``ltp export``
(``ResultKey``); the baseline of a pruned checkpoint is its run's sibling ``baseline`` stage or
the checkpoint its training started from (``find_baseline``); a checkpoint "with pruning on"
runs in its own mode when that prunes, else in hard mode (``pruning_mode``); a bench.json entry
stores pruning off under "none" and pruning on under "hard" (``BENCH_OFF``, ``BENCH_ON``).

The files are read into typed records here and only here (``load_results``, ``parse_results``):
``Results`` holds a checkpoint's ``Evaluation``s, ``BenchEntry``s, ``Sweep`` and lineage, and
finds the pruned result by the one rule (``Results.pruned``). Report, model card, export and the
dashboard's pages read the records, never the files' keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ltp.checkpoint import find_checkpoint, read_config
from ltp.errors import CheckpointError

METRICS, BENCH, SWEEP, LINEAGE = "metrics.json", "bench.json", "sweep.json", "lineage.json"
BASELINE = "baseline"  # the "mode" of a stored baseline result ("baseline/<split>")
PRUNING_MODES = ("hard", "topk")  # modes that prune at inference (soft only scales)
BENCH_OFF = "none"  # a bench.json entry's pruning-off timing
BENCH_ON = ("hard", "topk")  # its pruning-on timing: ``ltp bench`` writes "hard" whatever the mode; "topk" read too
BENCH_DATE_KEYS = ("measured_at", "date")  # where a bench.json entry carries its date
_THROUGHPUT = re.compile(r"throughput_bs(\d+)")
_SPEEDUP = re.compile(r"speedup_throughput_bs(\d+)")
_FLOPS_TO_TIME = re.compile(r"flops_to_time_bs(\d+)")


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


# --------------------------------------------------------------------------- the records


@dataclass(frozen=True)
class ShortView:
    """One short-input view of an evaluation: the same texts cut short, pruning off and on."""

    name: str  # "first_sentence", "first_12_words"
    examples: int | None
    mean_input_tokens: float | None
    accuracy_off: float | None  # the same weights with pruning off
    accuracy_on: float | None
    drop_points: float | None  # accuracy lost by pruning, in percentage points
    flops_reduction: float | None

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Evaluation:
    """One stored ``ltp evaluate`` result: one split, one pruning mode, fp32 or int8 weights."""

    key: ResultKey
    mode: str  # the mode the pass ran in (a stored baseline's is "none")
    examples: int | None = None
    sample: str | None = None  # which examples, in words: results compare only on the same sample
    accuracy: float | None = None
    precision_macro: float | None = None
    recall_macro: float | None = None
    f1_macro: float | None = None
    per_class: dict = field(default_factory=dict)  # {class: {"precision", "recall", "f1", "support"}}
    confusion_matrix: list = field(default_factory=list)  # rows gold, columns predicted
    report: str = ""  # sklearn's classification report
    mean_input_tokens: float | None = None  # word pieces per text before pruning
    tokens_alive_per_layer: tuple[float, ...] = ()  # mean tokens left after each layer
    gflops_mean: float | None = None
    gflops_unpruned_mean: float | None = None
    flops_reduction: float | None = None  # honest count; None for a result that predates it
    flops_reduction_all_tokens: float | None = None  # the first release's count
    views: tuple[ShortView, ...] = ()
    flops_ceiling: float | None = None  # the most this configuration could save on these texts (ltp.flops.honest_ceiling)
    content_to_last_layer: float | None = None  # share of texts with a content token alive into the last layer
    checkpoint: str | None = None  # where a copied-in baseline result came from

    @property
    def split(self) -> str:
        return self.key.split

    @property
    def flops(self) -> float | None:
        """The honest FLOPs reduction, else (an older result) the all-tokens one."""
        return self.flops_reduction if self.flops_reduction is not None else self.flops_reduction_all_tokens

    @property
    def flops_count(self) -> str:
        """Which count ``flops`` is: "honest" or "all-tokens"."""
        return "honest" if self.flops_reduction is not None else "all-tokens"


@dataclass(frozen=True)
class Timing:
    """One timed mode of an ``ltp bench`` entry."""

    mode: str | None
    threads: int | None
    examples: int | None
    throughput: dict[int, float]  # batch size -> examples/s (median of the timed passes)
    latency_ms_median: float | None  # batch 1
    latency_ms_p90: float | None
    peak_rss_mb: float | None
    int8_backend: str | None = None  # int8 runs: the kernel chosen for this CPU (ltp/quantize.py)


@dataclass(frozen=True)
class BenchEntry:
    """One device's stored ``ltp bench`` (a bench.json entry): pruning off against pruning on."""

    key: str  # bench.json's key: "cpu", "cuda", ...
    device: str | None  # the machine, in words
    config: dict  # the BenchConfig it ran with
    off: Timing | None  # pruning off
    on: Timing | None  # pruning on, in the checkpoint's pruning mode
    speedup_throughput: dict[int, float]  # batch size -> examples/s on / off
    speedup_latency: float | None  # median batch-1 latency off / on
    flops_reduction: float | None
    flops_honest: bool  # False: the first release's all-tokens count
    flops_to_time: dict[int, float]  # batch size -> share of the FLOPs saving that shows as time
    measured_at: str | None
    int8_off: Timing | None = None  # int8 weights, pruning off / on (``ltp bench --int8``)
    int8_on: Timing | None = None

    @property
    def batch(self) -> int | None:
        """The (first) batch size whose throughput speed-up is stored."""
        return next(iter(self.speedup_throughput), None)

    @property
    def complete(self) -> bool:
        """Both modes timed (a page shows the entry)."""
        return self.off is not None and self.on is not None


@dataclass(frozen=True)
class Sweep:
    """A stored ``ltp sweep``: accuracy-vs-FLOPs points from one baseline."""

    config: dict
    points: list  # one dict per point: method, label, accuracy, f1, flops_reduction, ...


@dataclass(frozen=True)
class Results:
    """Everything stored beside one checkpoint, parsed (``load_results``, ``parse_results``)."""

    own_mode: str  # the checkpoint's mode (config.json's ltp.mode)
    evaluations: dict[ResultKey, Evaluation]
    bench: tuple[BenchEntry, ...] = ()
    sweep: Sweep | None = None
    lineage: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def pruning(self) -> str:
        """The mode that runs this checkpoint with pruning on (``pruning_mode``)."""
        return pruning_mode(self.own_mode)

    def evaluation(self, split: str, mode: str, quantization: str = "none") -> Evaluation | None:
        return self.evaluations.get(ResultKey(split, mode, quantization))

    def pruned(self, split: str = "test", quantization: str = "none") -> Evaluation | None:
        """The result with pruning on (``pruning_mode``), else the checkpoint's own mode's."""
        return (self.evaluation(split, self.pruning, quantization)
                or self.evaluation(split, self.own_mode, quantization))

    def unpruned(self, split: str = "test", quantization: str = "none") -> Evaluation | None:
        return self.evaluation(split, "none", quantization)

    def headline(self, split: str = "test") -> Evaluation | None:
        """The result shown first: the checkpoint's own mode's, else pruning on's, else unpruned."""
        return next((e for m in (self.own_mode, self.pruning, "none") if (e := self.evaluation(split, m))), None)

    def stored_baseline(self, split: str = "test") -> Evaluation | None:
        """The unpruned baseline's result copied in by ``ltp export`` ("baseline/<split>")."""
        return self.evaluation(split, BASELINE)

    @property
    def splits(self) -> list[str]:
        return sorted({key.split for key in self.evaluations})

    @property
    def speed(self) -> BenchEntry | None:
        """The benchmark a page leads with: the "cpu" entry as ``ltp report`` reads it, else the
        first complete one (None when nothing is measured)."""
        entries = sorted(self.bench, key=lambda e: e.key != "cpu")
        return next((e for e in entries if e.complete and e.batch), None)

    @property
    def cpu(self) -> BenchEntry | None:
        return next((e for e in self.bench if e.key == "cpu"), None)


def same_examples(a: Evaluation | None, b: Evaluation | None) -> bool:
    """True when two results were measured on the same examples (a drop compares only those)."""
    return a is not None and b is not None and a.sample == b.sample


# --------------------------------------------------------------------------- building the records


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _flops(result: dict) -> tuple[float | None, float | None]:
    """(honest, all-tokens) FLOPs reduction of one stored evaluation. A result written before
    the honest accounting stored only the all-tokens ratio (under "flops_reduction")."""
    if "flops_accounting" in result:
        return _number(result.get("flops_reduction")), _number(result.get("flops_reduction_all_tokens"))
    if result.get("mode") == "none" and result.get("flops_reduction") == 1:
        return 1.0, 1.0  # an unpruned pass saves nothing under either count
    return None, _number(result.get("flops_reduction"))


def _view(name: str, v: dict) -> ShortView:
    return ShortView(name, v.get("examples"), v.get("mean_input_tokens"), v.get("accuracy_off"), v.get("accuracy_on"),
                     v.get("drop_points"), v.get("flops_reduction"))


def _evaluation(key: ResultKey, r: dict) -> Evaluation:
    honest, all_tokens = _flops(r)
    views = r.get("views") if isinstance(r.get("views"), dict) else {}
    return Evaluation(
        key=key, mode=r.get("mode") or ("none" if key.mode == BASELINE else key.mode), examples=r.get("examples"),
        sample=r.get("sample"), accuracy=r.get("accuracy"), precision_macro=r.get("precision_macro"),
        recall_macro=r.get("recall_macro"), f1_macro=r.get("f1_macro"), per_class=r.get("per_class") or {},
        confusion_matrix=r.get("confusion_matrix") or [], report=r.get("report") or "",
        mean_input_tokens=r.get("mean_input_tokens"), tokens_alive_per_layer=tuple(r.get("tokens_alive_per_layer") or ()),
        gflops_mean=r.get("gflops_mean"), gflops_unpruned_mean=r.get("gflops_unpruned_mean"),
        flops_reduction=honest, flops_reduction_all_tokens=all_tokens,
        views=tuple(_view(n, v) for n, v in views.items() if isinstance(v, dict)), checkpoint=r.get("checkpoint"),
        flops_ceiling=r.get("flops_ceiling"), content_to_last_layer=r.get("content_to_last_layer"))


def _timing(t) -> Timing | None:
    if not isinstance(t, dict):
        return None
    throughput = {int(m.group(1)): v for k, v in t.items() if (m := _THROUGHPUT.fullmatch(k))}
    return Timing(t.get("mode"), t.get("threads"), t.get("examples"), throughput, t.get("latency_ms_median"),
                  t.get("latency_ms_p90"), t.get("peak_rss_mb"), t.get("int8_backend"))


def _by_batch(entry: dict, pattern: re.Pattern) -> dict[int, float]:
    return {int(m.group(1)): v for k, v in entry.items() if (m := pattern.fullmatch(k))}


def _bench_entry(key: str, b: dict) -> BenchEntry:
    q = b.get("int8") if isinstance(b.get("int8"), dict) else {}
    return BenchEntry(
        key=key, device=b.get("device"), config=b.get("config") or {}, off=_timing(b.get(BENCH_OFF)),
        on=_timing(next((b[k] for k in BENCH_ON if k in b), None)),
        speedup_throughput=_by_batch(b, _SPEEDUP), speedup_latency=b.get("speedup_latency_median"),
        flops_reduction=b.get("flops_reduction"), flops_honest="flops_accounting" in b,
        flops_to_time=_by_batch(b, _FLOPS_TO_TIME), measured_at=next((str(b[k]) for k in BENCH_DATE_KEYS if b.get(k)), None),
        int8_off=_timing(q.get(BENCH_OFF)), int8_on=_timing(next((q[k] for k in BENCH_ON if k in q), None)))


def parse_results(metrics: dict, bench: dict | None = None, sweep: dict | None = None, lineage: dict | None = None,
                  own_mode: str = "hard", path: Path | None = None) -> Results:
    """The records of a checkpoint's stored files, already read (``load_results`` reads them)."""
    evaluations = {key: _evaluation(key, value) for key, value in keyed_results(metrics) if isinstance(value, dict)}
    entries = tuple(_bench_entry(k, v) for k, v in (bench or {}).items() if isinstance(v, dict))
    points = (sweep or {}).get("points")
    found = Sweep((sweep or {}).get("config") or {}, points) if sweep else None
    return Results(own_mode, evaluations, entries, found, lineage or {}, None if path is None else Path(path))


def load_results(ckpt: Path, damaged_as_missing: bool = False) -> Results:
    """Everything stored beside a checkpoint dir. Raises ResultsError for a damaged file, or,
    with ``damaged_as_missing`` (summaries), reads it as not measured."""
    ckpt = Path(ckpt)
    read = (lambda f: read_or_empty(f, ckpt)) if damaged_as_missing else (lambda f: f(ckpt))
    own_mode = (read_config(ckpt).get("ltp") or {}).get("mode", "hard")
    return parse_results(read(read_metrics), read(read_bench), read(read_sweep), read(read_lineage), own_mode, ckpt)

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


def baseline_of(results: Results, split: str = "test", repo: Path | None = None) -> Evaluation | None:
    """The unpruned baseline's result on a split: stored in the checkpoint under
    "baseline/<split>" (shipped models), else the ``<split>/none`` result of ``find_baseline``.
    Compare with ``same_examples`` before taking a difference."""
    own = results.stored_baseline(split)
    if own or results.path is None:
        return own
    base = find_baseline(results.path, repo)
    if base is None:
        return None
    return parse_results(read_or_empty(read_metrics, base)).unpruned(split)


# --------------------------------------------------------------------------- int8 beside fp32


def int8_rows(results: Results, split: str = "test") -> list[dict]:
    """fp32 and int8, each with pruning off and on: accuracy (metrics.json), FLOPs reduction and
    throughput (bench.json's cpu entry), every speed-up against unpruned fp32. [] when no int8
    result is stored (``ltp evaluate --int8``, ``ltp bench --int8``)."""
    b = results.cpu
    if not (b and b.int8_on) and not results.pruned(split, "int8"):
        return []
    off = b.off if b else None
    bs = next(iter(off.throughput), None) if off else None
    base = off.throughput.get(bs) if off else None
    timed = {("none", "none"): off, ("on", "none"): b and b.on, ("none", "int8"): b and b.int8_off,
             ("on", "int8"): b and b.int8_on}
    rows = []
    for quant in ("none", "int8"):
        for mode in ("none", "on"):
            res = results.unpruned(split, quant) if mode == "none" else results.evaluation(split, results.pruning, quant)
            t = timed[(mode, quant)]
            speed = t.throughput.get(bs) if t else None
            rows.append({"weights": "fp32" if quant == "none" else "int8",
                         "pruning": "off" if mode == "none" else results.pruning,
                         "accuracy": res.accuracy if res else None,
                         "flops_reduction": res.flops_reduction if res else None,
                         "batch": bs, "throughput": speed,
                         "speedup_vs_fp32_off": speed / base if speed and base else None,
                         "int8_backend": (t.int8_backend if t else None) if quant == "int8" else None})
    return rows


def quantization_rows(metrics: dict, bench: dict, own_mode: str, split: str = "test") -> list[dict]:
    """``int8_rows`` of a metrics.json and a bench.json already read."""
    return int8_rows(parse_results(metrics, bench, own_mode=own_mode), split)
