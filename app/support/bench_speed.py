"""The measured speed a page leads with (``ltp bench``), where it came from, and how it compares
with the FLOPs reduction."""

from __future__ import annotations

from ltp.results import BenchEntry, Results
from support.markup import escape_md


def headline_speed(results: Results) -> dict | None:
    """The speed-up a page leads with (``Results.speed``: the stored ``ltp bench``'s "cpu" entry as
    ``ltp report`` reads it, else the first complete one), with where it came from. None when
    nothing is measured."""
    s = results.speed
    if s is None:
        return None
    return {"key": s.key, "speedup": s.speedup_throughput[s.batch], "batch": s.batch,
            "latency_speedup": s.speedup_latency, "source": bench_source(s)}


def bench_source(entry: BenchEntry) -> str:
    """Where a stored speed came from, in one line: command, device, threads, batch, texts, date."""
    threads = entry.off.threads if entry.off else None
    texts = entry.off.examples if entry.off else None
    parts = ["`ltp bench`", str(entry.device or "device not recorded"),
             f"{threads} threads" if threads else "threads not recorded",
             f"batch {entry.batch}" if entry.batch else None,
             f"{texts:,} {entry.config.get('split') or 'test'} texts" if texts else None,
             entry.measured_at or "date not recorded"]
    return " · ".join(p for p in parts if p)


def time_vs_flops(results: Results) -> dict | None:
    """How the measured speed-up compares with the FLOPs reduction, both as ``ltp report`` shows them:
    {speedup, flops_reduction, flops_count, ratio, verdict ("less than", "about as much as", "more
    than"), source, sample}; None when either is not stored."""
    speed, result = headline_speed(results), results.pruned()
    if not speed or not result or not result.flops or not speed["speedup"]:
        return None
    ratio = speed["speedup"] / result.flops
    verdict = "less than" if ratio < 0.95 else "more than" if ratio > 1.05 else "about as much as"
    return {"speedup": speed["speedup"], "batch": speed["batch"], "flops_reduction": result.flops,
            "flops_count": result.flops_count, "ratio": ratio, "verdict": verdict,
            "source": speed["source"], "sample": result.sample}


def time_vs_flops_sentence(found: dict, name: str) -> str:
    """``time_vs_flops`` as a sentence for the About page."""
    return (f"For **{escape_md(name)}**, `ltp bench` measured **{found['speedup']:.2f}x** the examples/s of pruning off "
            f"(batch {found['batch']}) for **{found['flops_reduction']:.2f}x** fewer FLOPs ({found['flops_count']} "
            f"count, `ltp evaluate` on the {escape_md(found['sample'] or 'test split')}): measured time shrank "
            f"**{found['verdict']}** FLOPs. Speed from {found['source']}.")
