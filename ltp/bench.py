"""Wall-clock benchmark of the same weights with pruning off ("none") and on ("hard").

Throughput: examples/s over the evaluation examples in length-sorted batches. Latency: batch 1,
median and p90 per example. Warm-up before timing, a fixed thread count, several repetitions
(the median is reported). Each mode runs in a fresh child process so its peak memory is its own.
With ``int8``, the same two modes run again with the encoder's linear layers quantized to int8
(``ltp.quantize``: the first int8 run picks the kernel for this CPU, the second reuses it), and the
summary's ``int8`` part compares them with unpruned fp32. Every summary records the CPU (model name,
torch's ISA capability, int8 instructions), since int8's speed depends on it.
"""

from __future__ import annotations

import datetime as _dt

import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass
class BenchConfig:
    checkpoint: str
    split: str = "test"
    limit: int | None = 2000  # evaluation examples timed (seeded stratified sample)
    batch_sizes: tuple[int, ...] = (32,)  # throughput batch sizes
    latency_examples: int = 200  # examples timed one by one
    repeats: int = 3  # timed passes per measurement (median reported)
    warmup_batches: int = 3
    threads: int | None = None  # torch threads (default: all cores)
    device: str = "cpu"
    data_dir: str | None = None
    backbone: str | None = None
    check_backbone: bool = True  # False: accept a re-encoded copy of the backbone (e.g. float16)
    seed: int = 0
    int8: bool = False  # also time both modes with int8 dynamic quantization of the linear layers


def _timed_pass(model, batches, mode, device, sync) -> float:
    import torch

    t0 = time.perf_counter()
    with torch.inference_mode():
        for ids, mask in batches:
            model(ids, mask, mode=mode)
    sync()
    return time.perf_counter() - t0


def _measure(cfg: BenchConfig, mode: str, quantization: str = "none", backend: str | None = None) -> dict:
    """Runs in a child process: load, warm up, time throughput and latency for one mode (int8: on
    ``backend``, or on the kernel ``ltp.quantize`` chooses)."""
    import resource

    import torch

    from ltp.checkpoint import load_checkpoint
    from ltp.evaluate import evaluation_examples
    from ltp.quantize import apply_quantization, int8_record
    from ltp.text import encode

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ckpt = load_checkpoint(cfg.checkpoint, backbone=cfg.backbone, check_backbone=cfg.check_backbone)
    model = apply_quantization(ckpt.model.to(cfg.device).eval(), quantization, backend)
    df = evaluation_examples(ckpt, cfg.split, cfg.limit, Path(cfg.data_dir) if cfg.data_dir else None, cfg.seed)
    enc = encode(ckpt.tokenizer, df["text"].tolist(), ckpt.max_length, ckpt.truncation)
    sync = torch.cuda.synchronize if cfg.device.startswith("cuda") else (lambda: None)
    result = {"mode": mode, "quantization": quantization, "examples": len(df), "threads": torch.get_num_threads()}
    result.update({k: v for k, v in int8_record(model).items() if k != "cpu"})  # the summary holds the CPU
    throughput, flops, flops_un = _throughput(cfg, model, enc, ckpt.tokenizer.pad_token_id, mode, sync)
    ms = _latencies_ms(cfg, model, enc, mode, sync)
    result.update(throughput)
    result.update({
        "latency_ms_median": float(np.median(ms)),
        "latency_ms_p90": float(np.percentile(ms, 90)),
        "flops_reduction": flops_un / flops if flops else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })
    return result


def _throughput(cfg: BenchConfig, model, enc, pad: int, mode: str, sync) -> tuple[dict, float, float]:
    """Examples/s per batch size (median of cfg.repeats passes, each run too), and the FLOPs
    pruned and unpruned, counted once over the first batch size's batches."""
    import torch

    from ltp.inference import length_sorted_batches, pad_batch

    cuda = cfg.device.startswith("cuda")
    lengths = [len(s) for s in enc.input_ids]
    result, flops, flops_un = {}, 0.0, 0.0
    for bs in cfg.batch_sizes:
        batches = []
        for idx in length_sorted_batches(lengths, bs):
            ids, mask = pad_batch([enc.input_ids[i] for i in idx], pad)
            batches.append((ids.to(cfg.device), mask.to(cfg.device)))
        with torch.inference_mode():
            for ids, mask in batches[: cfg.warmup_batches]:
                model(ids, mask, mode=mode)
            if bs == cfg.batch_sizes[0]:
                for ids, mask in batches:
                    out = model(ids, mask, mode=mode)
                    flops += float(out.flops.sum())
                    flops_un += float(out.flops_unpruned.sum())
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        times = [_timed_pass(model, batches, mode, cfg.device, sync) for _ in range(cfg.repeats)]
        n = len(enc.input_ids)
        result[f"throughput_bs{bs}"] = n / float(np.median(times))
        result[f"throughput_bs{bs}_runs"] = [n / t for t in times]
        if cuda:
            result[f"peak_gpu_mb_bs{bs}"] = torch.cuda.max_memory_allocated() / 2**20
    return result, flops, flops_un


def _latencies_ms(cfg: BenchConfig, model, enc, mode: str, sync) -> np.ndarray:
    """Milliseconds per example at batch 1, over a seeded sample timed cfg.repeats times."""
    import torch

    n = len(enc.input_ids)
    pick = np.random.default_rng(cfg.seed).choice(n, size=min(cfg.latency_examples, n), replace=False)
    singles = [torch.tensor([enc.input_ids[i]], device=cfg.device) for i in pick]
    per_example = []
    with torch.inference_mode():
        for ids in singles[: cfg.warmup_batches * 4]:
            model(ids, mode=mode)
        for _ in range(cfg.repeats):
            for ids in singles:
                t0 = time.perf_counter()
                model(ids, mode=mode)
                sync()
                per_example.append(time.perf_counter() - t0)
    return np.array(per_example) * 1000


def _child(cfg: BenchConfig, mode: str, quantization: str, backend: str | None, queue) -> None:
    from ltp.quantize import QuantizationError

    try:
        queue.put(("ok", _measure(cfg, mode, quantization, backend)))
    except QuantizationError as err:  # int8 refused on this CPU: the parent raises the same sentence
        queue.put(("refused", str(err)))
    except BaseException as err:  # noqa: BLE001 - reported to the parent as a message
        queue.put(("error", f"{type(err).__name__}: {err}"))


def run_benchmark(cfg: BenchConfig, isolate: bool = True) -> dict:
    """Both modes, each in its own process (isolate=False runs in this one, for tests)."""
    from ltp.checkpoint import find_checkpoint, read_config
    from ltp.results import pruning_mode

    pruning = pruning_mode(read_config(find_checkpoint(cfg.checkpoint))["ltp"]["mode"])
    load_before = [round(x, 2) for x in os.getloadavg()]  # an idle CPU reads near 0: timings on a busy one are not results
    results = {}
    runs = [("none", "none", "none"), ("hard", pruning, "none")]  # "hard": pruning on, as the checkpoint prunes
    if cfg.int8:
        runs += [("none+int8", "none", "int8"), ("hard+int8", pruning, "int8")]
    backend = None  # int8: chosen by the first int8 run, reused by the second (both on the same kernel)
    for key, mode, quantization in runs:
        args = (cfg, mode, quantization, backend)
        results[key] = _measure(*args) if not isolate else _in_child(*args)
        backend = results[key].get("int8_backend") or backend
    return summarize(cfg, results) | {"loadavg_before": load_before}


def _in_child(cfg: BenchConfig, mode: str, quantization: str, backend: str | None = None) -> dict:
    """One measurement in a fresh process (its own peak memory, nothing warm from the last one)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(cfg, mode, quantization, backend, queue))
    proc.start()
    status, payload = queue.get()
    proc.join()
    if status == "refused":
        from ltp.quantize import QuantizationError

        raise QuantizationError(payload)
    if status != "ok":
        raise RuntimeError(f"benchmark of mode {mode} ({quantization}) failed: {payload}")
    return payload


def summarize(cfg: BenchConfig, results: dict) -> dict:
    off, on = results["none"], results["hard"]
    from ltp.quantize import cpu_info

    summary = {"device": describe_device(cfg.device), "cpu": cpu_info(), "config": asdict(cfg), "none": off,
               "hard": on, "measured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    red = on["flops_reduction"]
    for bs in cfg.batch_sizes:
        speed = on[f"throughput_bs{bs}"] / off[f"throughput_bs{bs}"]
        summary[f"speedup_throughput_bs{bs}"] = speed
        summary[f"flops_to_time_bs{bs}"] = speed / red if red else None  # share of the FLOPs saving that shows
    summary["speedup_latency_median"] = off["latency_ms_median"] / on["latency_ms_median"]
    summary["flops_reduction"] = red
    from ltp.evaluate import FLOPS_ACCOUNTING

    summary["flops_accounting"] = FLOPS_ACCOUNTING
    if "hard+int8" in results:
        summary["int8"] = _int8_summary(cfg, off, results["none+int8"], results["hard+int8"])
    return summary


def _int8_summary(cfg: BenchConfig, fp32_off: dict, off: dict, on: dict) -> dict:
    """int8 without and with pruning, each against unpruned fp32 (and LTP's gain within int8)."""
    choice = off.get("int8_choice") or on.get("int8_choice") or {}  # the first int8 run timed the kernels
    out = {"none": off, "hard": on, "backend": on.get("int8_backend"),
           "backend_linear_speedup": choice.get("speedup")}  # the kernel's own speed over fp32 on the linears
    for bs in cfg.batch_sizes:
        k = f"throughput_bs{bs}"
        out[f"speedup_throughput_bs{bs}"] = on[k] / fp32_off[k]  # LTP + int8 vs unpruned fp32
        out[f"speedup_throughput_bs{bs}_int8_only"] = off[k] / fp32_off[k]
        out[f"speedup_throughput_bs{bs}_ltp_within_int8"] = on[k] / off[k]
    out["speedup_latency_median"] = fp32_off["latency_ms_median"] / on["latency_ms_median"]
    return out


def describe_device(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return f"{torch.cuda.get_device_name(0)} (cuda)"
    from ltp.quantize import describe_cpu

    return f"CPU {describe_cpu()}, {os.cpu_count()} cores"


def store_benchmark(ckpt_path: Path, summary: dict, key: str) -> None:
    """Merge into <checkpoint>/bench.json under key (e.g. "cpu", "cuda")."""
    from ltp.files import merge_json

    merge_json(Path(ckpt_path) / "bench.json", key, summary)


def format_benchmark(s: dict) -> str:
    off, on = s["none"], s["hard"]
    lines = [f"device: {s['device']}; {on['examples']} examples; {on['threads']} threads; "
             f"median of {s['config']['repeats']} runs"
             + (f"; measured {s['measured_at']}" if s.get("measured_at") else "")
             + (f"; load average before {s['loadavg_before'][0]:.2f}" if s.get("loadavg_before") else ""),
             f"{'':24}{'pruning off':>14}{'LTP (hard)':>14}{'speed-up':>10}"]
    for bs in s["config"]["batch_sizes"]:
        k = f"throughput_bs{bs}"
        lines.append(f"{'throughput bs' + str(bs) + ' (ex/s)':24}{off[k]:>14.1f}{on[k]:>14.1f}{s['speedup_' + k]:>9.2f}x")
    lines.append(f"{'latency bs1 median (ms)':24}{off['latency_ms_median']:>14.2f}{on['latency_ms_median']:>14.2f}"
                 f"{s['speedup_latency_median']:>9.2f}x")
    lines.append(f"{'latency bs1 p90 (ms)':24}{off['latency_ms_p90']:>14.2f}{on['latency_ms_p90']:>14.2f}")
    mem = "peak_gpu_mb_bs" + str(s["config"]["batch_sizes"][0]) if "peak_gpu_mb_bs" + str(s["config"]["batch_sizes"][0]) in on else "peak_rss_mb"
    lines.append(f"{'peak memory (MB, ' + ('GPU' if 'gpu' in mem else 'RSS') + ')':24}{off[mem]:>14.0f}{on[mem]:>14.0f}")
    bs0 = s["config"]["batch_sizes"][0]
    lines.append(f"FLOPs reduction {s['flops_reduction']:.2f}x; throughput speed-up (bs{bs0}) "
                 f"{s['speedup_throughput_bs' + str(bs0)]:.2f}x = {100 * s['flops_to_time_bs' + str(bs0)]:.0f}% "
                 "of the FLOPs saving shows as time")
    if "int8" in s:
        q = s["int8"]
        gain = q.get("backend_linear_speedup")
        lines.append(f"int8 kernel: {q.get('backend') or 'int_mm'}"
                     + (f" (chosen by timing: the linear layers at {gain:.2f}x fp32's speed)" if gain else ""))
        lines.append(f"{'int8, vs fp32 pruning off':24}{'pruning off':>14}{'LTP (hard)':>14}")
        for bs in s["config"]["batch_sizes"]:
            k = f"throughput_bs{bs}"
            lines.append(f"{'throughput bs' + str(bs) + ' (ex/s)':24}{q['none'][k]:>14.1f}{q['hard'][k]:>14.1f}"
                         f"{q['speedup_' + k]:>9.2f}x")
        lines.append(f"{'latency bs1 median (ms)':24}{q['none']['latency_ms_median']:>14.2f}"
                     f"{q['hard']['latency_ms_median']:>14.2f}{q['speedup_latency_median']:>9.2f}x")
    return "\n".join(lines)
