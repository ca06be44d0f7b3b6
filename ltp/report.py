"""Markdown results tables generated from stored metrics (metrics.json, bench.json)."""

from __future__ import annotations

from pathlib import Path

from ltp.checkpoint import find_checkpoint
from ltp.results import BenchEntry, Evaluation, Sweep, baseline_of, int8_rows, load_results, same_examples

__all__ = ["results_row", "markdown_table", "bench_markdown", "sweep_markdown", "details_markdown", "views_markdown"]


def views_markdown(result: Evaluation | None) -> str:
    """The short-input views of one evaluation as a markdown table ('' when there are none)."""
    if not result or not result.views:
        return ""
    lines = ["| short view | texts | mean tokens | accuracy, pruning off | pruning on | drop (points) | FLOPs reduction |",
             "|---|---|---|---|---|---|---|"]
    for v in result.views:
        lines.append(f"| {v.title} | {v.examples} | {v.mean_input_tokens:.1f} | {v.accuracy_off:.4f} | "
                     f"{v.accuracy_on:.4f} | {v.drop_points:.2f} | {_x(v.flops_reduction)} |")
    return "\n".join(lines)


def results_row(path: str | Path, split: str = "test") -> dict:
    """One model's headline numbers; missing measurements are None."""
    ckpt = find_checkpoint(path)
    results = load_results(ckpt, damaged_as_missing=True)  # unreadable results count as not measured
    ltp, base, bench = results.pruned(split), baseline_of(results, split), results.cpu
    speedup = bench.speedup_throughput.get(32) if bench else None
    return {
        "model": str(path),
        "dataset": _dataset(ckpt),
        "examples": ltp and ltp.examples,
        "sample": ltp and ltp.sample,
        "baseline_accuracy": base and base.accuracy,
        "ltp_accuracy": ltp and ltp.accuracy,
        "baseline_f1": base and base.f1_macro,
        "ltp_f1": ltp and ltp.f1_macro,
        # a drop only compares like with like: both measured on the same examples
        "accuracy_drop_points": (100 * (base.accuracy - ltp.accuracy)) if same_examples(base, ltp) else None,
        "flops_reduction": ltp and ltp.flops_reduction,
        "flops_reduction_all_tokens": ltp and ltp.flops_reduction_all_tokens,
        "flops_ceiling": ltp and ltp.flops_ceiling,
        "content_to_last_layer": ltp and ltp.content_to_last_layer,
        "short_views": {v.name: {"drop_points": v.drop_points, "flops_reduction": v.flops_reduction}
                        for v in (ltp.views if ltp else ())},
        "tokens_alive_per_layer": list(ltp.tokens_alive_per_layer) if ltp and ltp.tokens_alive_per_layer else None,
        "mean_input_tokens": ltp and ltp.mean_input_tokens,
        "cpu_speedup_bs32": speedup,
        "cpu_latency_speedup": bench.speedup_latency if bench else None,
    }


def _dataset(ckpt: Path) -> str | None:
    from ltp.checkpoint import read_config

    return (read_config(ckpt).get("dataset") or {}).get("name")


def _f(x, fmt):
    return "–" if x is None else format(x, fmt)


def _x(x):
    return "–" if x is None else f"{x:.2f}x"


def markdown_table(rows: list[dict]) -> str:
    head = ("| model | data (test examples) | baseline acc / F1 | LTP acc / F1 | drop (points) | FLOPs reduction, honest "
            "(all tokens) | short inputs: drop (points) / FLOPs, first sentence; first 12 words "
            "| tokens alive after each layer | CPU speed-up (bs 32 / bs 1) |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        alive = r["tokens_alive_per_layer"]
        alive_s = "–" if not alive else " → ".join(f"{a:.1f}" for a in alive)
        if r.get("content_to_last_layer") is not None:
            alive_s += f" ({100 * r['content_to_last_layer']:.1f}% keep a content token to the last layer)"
        ceiling = f"; ceiling {_x(r['flops_ceiling'])}" if r.get("flops_ceiling") else ""
        views = r.get("short_views") or {}
        views_s = "; ".join(f"{v['drop_points']:.2f} / {_x(v['flops_reduction'])}" for v in views.values()) or "–"
        lines.append(
            f"| `{r['model']}` | {r['dataset']} ({r['examples']}) | {_f(r['baseline_accuracy'], '.4f')} / "
            f"{_f(r['baseline_f1'], '.4f')} | {_f(r['ltp_accuracy'], '.4f')} / {_f(r['ltp_f1'], '.4f')} | "
            f"{_f(r['accuracy_drop_points'], '.2f')} | {_x(r['flops_reduction'])} ({_x(r['flops_reduction_all_tokens'])}{ceiling}) | "
            f"{views_s} | {alive_s} | {_x(r['cpu_speedup_bs32'])} / {_x(r['cpu_latency_speedup'])} |"
        )
    return "\n".join(lines + ["", "FLOPs reduction: honest (pruned and unpruned both run the last layer's FFN for "
                               "[CLS] alone); in brackets the first release's count (every token through every FFN) "
                               "and, where stored, the configuration's honest ceiling on the same texts "
                               "(`ltp.flops.honest_ceiling`); "
                               "– where a result predates the honest count."])


def bench_markdown(b: BenchEntry) -> str:
    """One stored `ltp bench` result (a bench.json entry) as a markdown paragraph + table."""
    off, on, c = b.off, b.on, b.config
    lines = [f"`ltp bench` on {b.device}: {c.get('limit') or 'all'} {c.get('split')} examples, length-sorted, "
             f"{c.get('repeats')} timed passes after warm-up (median), {off.threads} threads, each mode in a "
             "fresh process.", "", "| | pruning off | pruning on | speed-up |", "|---|---|---|---|"]
    for bs, speedup in b.speedup_throughput.items():
        lines.append(f"| throughput, batch {bs} (examples/s) | {off.throughput[bs]:.1f} | "
                     f"{on.throughput[bs]:.1f} | {speedup:.2f}x |")
    lines += [f"| latency, batch 1, median (ms) | {off.latency_ms_median:.2f} | {on.latency_ms_median:.2f} "
              f"| {b.speedup_latency:.2f}x |",
              f"| latency, batch 1, p90 (ms) | {off.latency_ms_p90:.2f} | {on.latency_ms_p90:.2f} | |"]
    if off.peak_rss_mb is not None:
        lines.append(f"| peak memory (MiB) | {off.peak_rss_mb:.0f} | {on.peak_rss_mb:.0f} | |")
    if b.batch is not None:
        count = "honest" if b.flops_honest else "the first release's all-tokens count"
        lines += ["", f"FLOPs reduction {b.flops_reduction:.2f}x ({count}); at batch {b.batch} "
                  f"{100 * b.flops_to_time[b.batch]:.0f}% of the FLOPs saving shows as time."]
    return "\n".join(lines)


def sweep_markdown(record: Sweep) -> str:
    """A stored `ltp sweep` (sweep.json) as a markdown paragraph + table."""
    c = record.config
    lines = [f"Every point starts from the same baseline and fine-tunes on the same {c.get('max_train_examples')} "
             f"training examples ({c.get('soft_epochs')} soft + {c.get('hard_epochs')} hard epoch(s); top-k gets as "
             f"many epochs); evaluated on {c.get('eval_limit') or 'all'} test examples (seeded, stratified). Speed-up: "
             "examples/s against the unpruned baseline in the same process (batch 64).", "",
             "| method | point | accuracy | macro F1 | FLOPs reduction"
             + ("" if all("flops_reduction_all_tokens" in p for p in record.points)
                else " (the first release's all-tokens count)")
             + " | first 12 words: acc off / on | speed-up |",
             "|---|---|---|---|---|---|---|"]
    for p in record.points:
        v = (p.get("views") or {}).get("first_12_words")
        short = f"{v['accuracy_off']:.4f} / {v['accuracy_on']:.4f}" if v else "–"
        lines.append(f"| {p['method']} | {p['label']} | {p['accuracy']:.4f} | {p['f1']:.4f} | "
                     f"{p['flops_reduction']:.2f}x | {short} | {_x(p.get('speedup'))} |")
    return "\n".join(lines)


def quantization_markdown(rows: list[dict]) -> str:
    """fp32 / int8 x pruning off / on (``results.int8_rows``) as a markdown table."""
    bs = next((r["batch"] for r in rows if r["batch"]), None)
    lines = [f"| weights | pruning | accuracy | FLOPs reduction | throughput, batch {bs} (examples/s) | "
             "speed-up vs fp32, pruning off |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['weights']} | {r['pruning']} | {_f(r['accuracy'], '.4f')} | {_x(r['flops_reduction'])} | "
                     f"{_f(r['throughput'], '.1f')} | {_x(r['speedup_vs_fp32_off'])} |")
    return "\n".join(lines)


def details_markdown(path: str | Path) -> str:
    """The benchmark, int8 and sweep tables stored with one model, under headings."""
    results = load_results(find_checkpoint(path), damaged_as_missing=True)
    out = []
    for b in results.bench:
        out += [f"#### `{path}`: speed ({b.key})", "", bench_markdown(b), ""]
    if rows := int8_rows(results):
        out += [f"#### `{path}`: LTP with int8 (CPU)", "", quantization_markdown(rows), ""]
    if results.sweep and results.sweep.points:
        out += [f"#### `{path}`: accuracy vs FLOPs", "", sweep_markdown(results.sweep), ""]
    return "\n".join(out)
