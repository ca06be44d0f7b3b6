"""Markdown results tables generated from stored metrics (metrics.json, bench.json)."""

from __future__ import annotations

from pathlib import Path

from ltp.checkpoint import find_checkpoint, read_config
from ltp.results import (baseline_result, flops_columns, pruned_result, quantization_rows, read_bench, read_metrics,
                         read_or_empty, read_sweep, same_examples, short_views)

__all__ = ["results_row", "markdown_table", "bench_markdown", "sweep_markdown", "details_markdown", "views_markdown",
           "flops_columns", "short_views"]  # the last two live in ltp.results; kept importable here


def views_markdown(result: dict | None) -> str:
    """The short-input views of one evaluation as a markdown table ('' when there are none)."""
    views = short_views(result)
    if not views:
        return ""
    lines = ["| short view | texts | mean tokens | accuracy, pruning off | pruning on | drop (points) | FLOPs reduction |",
             "|---|---|---|---|---|---|---|"]
    for name, v in views.items():
        lines.append(f"| {name.replace('_', ' ')} | {v['examples']} | {v['mean_input_tokens']:.1f} | "
                     f"{v['accuracy_off']:.4f} | {v['accuracy_on']:.4f} | {v['drop_points']:.2f} | "
                     f"{_x(v['flops_reduction'])} |")
    return "\n".join(lines)


def results_row(path: str | Path, split: str = "test") -> dict:
    """One model's headline numbers; missing measurements are None."""
    ckpt = find_checkpoint(path)
    config = read_config(ckpt)
    metrics = read_or_empty(read_metrics, ckpt)  # unreadable results count as not measured
    ltp = pruned_result(metrics, config["ltp"]["mode"], split) or {}
    base = baseline_result(ckpt, split, metrics=metrics) or {}
    bench = read_or_empty(read_bench, ckpt).get("cpu", {})
    return {
        "model": str(path),
        "dataset": config.get("dataset", {}).get("name"),
        "examples": ltp.get("examples"),
        "sample": ltp.get("sample"),
        "baseline_accuracy": base.get("accuracy"),
        "ltp_accuracy": ltp.get("accuracy"),
        "baseline_f1": base.get("f1_macro"),
        "ltp_f1": ltp.get("f1_macro"),
        # a drop only compares like with like: both measured on the same examples
        "accuracy_drop_points": (100 * (base["accuracy"] - ltp["accuracy"])) if same_examples(base, ltp) else None,
        "flops_reduction": flops_columns(ltp)[0],
        "flops_reduction_all_tokens": flops_columns(ltp)[1],
        "short_views": {k: {"drop_points": v["drop_points"], "flops_reduction": v["flops_reduction"]}
                        for k, v in short_views(ltp).items()},
        "tokens_alive_per_layer": ltp.get("tokens_alive_per_layer"),
        "mean_input_tokens": ltp.get("mean_input_tokens"),
        "cpu_speedup_bs32": bench.get("speedup_throughput_bs32"),
        "cpu_latency_speedup": bench.get("speedup_latency_median"),
    }


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
        views = r.get("short_views") or {}
        views_s = "; ".join(f"{v['drop_points']:.2f} / {_x(v['flops_reduction'])}" for v in views.values()) or "–"
        lines.append(
            f"| `{r['model']}` | {r['dataset']} ({r['examples']}) | {_f(r['baseline_accuracy'], '.4f')} / "
            f"{_f(r['baseline_f1'], '.4f')} | {_f(r['ltp_accuracy'], '.4f')} / {_f(r['ltp_f1'], '.4f')} | "
            f"{_f(r['accuracy_drop_points'], '.2f')} | {_x(r['flops_reduction'])} ({_x(r['flops_reduction_all_tokens'])}) | "
            f"{views_s} | {alive_s} | {_x(r['cpu_speedup_bs32'])} / {_x(r['cpu_latency_speedup'])} |"
        )
    return "\n".join(lines + ["", "FLOPs reduction: honest (pruned and unpruned both run the last layer's FFN for "
                               "[CLS] alone); in brackets the first release's count (every token through every FFN); "
                               "– where a result predates the honest count."])


def bench_markdown(b: dict) -> str:
    """One stored `ltp bench` result (a bench.json entry) as a markdown paragraph + table."""
    sizes = [k.removeprefix("speedup_throughput_bs") for k in b if k.startswith("speedup_throughput_bs")]
    off, on = b.get("none", {}), next((b[m] for m in ("hard", "topk") if m in b), {})
    c = b.get("config", {})
    lines = [f"`ltp bench` on {b.get('device')}: {c.get('limit') or 'all'} {c.get('split')} examples, length-sorted, "
             f"{c.get('repeats')} timed passes after warm-up (median), {off.get('threads')} threads, each mode in a "
             "fresh process.", "", "| | pruning off | pruning on | speed-up |", "|---|---|---|---|"]
    for bs in sizes:
        lines.append(f"| throughput, batch {bs} (examples/s) | {off[f'throughput_bs{bs}']:.1f} | "
                     f"{on[f'throughput_bs{bs}']:.1f} | {b[f'speedup_throughput_bs{bs}']:.2f}x |")
    lines += [f"| latency, batch 1, median (ms) | {off['latency_ms_median']:.2f} | {on['latency_ms_median']:.2f} "
              f"| {b['speedup_latency_median']:.2f}x |",
              f"| latency, batch 1, p90 (ms) | {off['latency_ms_p90']:.2f} | {on['latency_ms_p90']:.2f} | |"]
    if off.get("peak_rss_mb") is not None:
        lines.append(f"| peak memory (MiB) | {off['peak_rss_mb']:.0f} | {on['peak_rss_mb']:.0f} | |")
    if sizes:
        count = "honest" if "flops_accounting" in b else "the first release's all-tokens count"
        lines += ["", f"FLOPs reduction {b['flops_reduction']:.2f}x ({count}); at batch {sizes[0]} "
                  f"{100 * b[f'flops_to_time_bs{sizes[0]}']:.0f}% of the FLOPs saving shows as time."]
    return "\n".join(lines)


def sweep_markdown(record: dict) -> str:
    """A stored `ltp sweep` (sweep.json) as a markdown paragraph + table."""
    c = record.get("config", {})
    lines = [f"Every point starts from the same baseline and fine-tunes on the same {c.get('max_train_examples')} "
             f"training examples ({c.get('soft_epochs')} soft + {c.get('hard_epochs')} hard epoch(s); top-k gets as "
             f"many epochs); evaluated on {c.get('eval_limit') or 'all'} test examples (seeded, stratified). Speed-up: "
             "examples/s against the unpruned baseline in the same process (batch 64).", "",
             "| method | point | accuracy | macro F1 | FLOPs reduction"
             + ("" if all("flops_reduction_all_tokens" in p for p in record.get("points", []))
                else " (the first release's all-tokens count)")
             + " | first 12 words: acc off / on | speed-up |",
             "|---|---|---|---|---|---|---|"]
    for p in record.get("points", []):
        v = (p.get("views") or {}).get("first_12_words")
        short = f"{v['accuracy_off']:.4f} / {v['accuracy_on']:.4f}" if v else "–"
        lines.append(f"| {p['method']} | {p['label']} | {p['accuracy']:.4f} | {p['f1']:.4f} | "
                     f"{p['flops_reduction']:.2f}x | {short} | {_x(p.get('speedup'))} |")
    return "\n".join(lines)


def quantization_markdown(rows: list[dict]) -> str:
    """fp32 / int8 x pruning off / on (``results.quantization_rows``) as a markdown table."""
    bs = next((r["batch"] for r in rows if r["batch"]), None)
    lines = [f"| weights | pruning | accuracy | FLOPs reduction | throughput, batch {bs} (examples/s) | "
             "speed-up vs fp32, pruning off |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['weights']} | {r['pruning']} | {_f(r['accuracy'], '.4f')} | {_x(r['flops_reduction'])} | "
                     f"{_f(r['throughput'], '.1f')} | {_x(r['speedup_vs_fp32_off'])} |")
    return "\n".join(lines)


def details_markdown(path: str | Path) -> str:
    """The benchmark, int8 and sweep tables stored with one model, under headings."""
    ckpt = find_checkpoint(path)
    out = []
    bench = read_or_empty(read_bench, ckpt)
    for key, b in bench.items():
        out += [f"#### `{path}`: speed ({key})", "", bench_markdown(b), ""]
    rows = quantization_rows(read_or_empty(read_metrics, ckpt), bench, read_config(ckpt)["ltp"]["mode"])
    if rows:
        out += [f"#### `{path}`: LTP with int8 (CPU)", "", quantization_markdown(rows), ""]
    sweep = read_or_empty(read_sweep, ckpt)
    if sweep.get("points"):
        out += [f"#### `{path}`: accuracy vs FLOPs", "", sweep_markdown(sweep), ""]
    return "\n".join(out)
