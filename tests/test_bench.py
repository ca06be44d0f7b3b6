"""`ltp bench`: both modes measured, speed-ups and FLOPs reduction stored beside the checkpoint."""

import datetime as _dt
import json

import pytest

from ltp.bench import BenchConfig, format_benchmark, run_benchmark
from conftest import calibrate_thresholds
from ltp.cli import main


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, tiny_backbone, toy_data_dir):
    out = tmp_path_factory.mktemp("bench") / "run"
    assert main(["train", "--dataset", "toy", "--out", str(out), "--backbone", str(tiny_backbone),
                 "--data-dir", str(toy_data_dir), "--max-length", "24", "--batch-size", "8",
                 "--val-examples", "6", "--final-threshold", "0.06", "--quiet"]) == 0
    return calibrate_thresholds(out / "hard", toy_data_dir)  # about half the tokens go at each layer


def test_benchmark_in_process(ckpt, toy_data_dir):
    cfg = BenchConfig(checkpoint=str(ckpt), limit=None, batch_sizes=(4, 8), latency_examples=5, repeats=2,
                      threads=1, data_dir=str(toy_data_dir))
    s = run_benchmark(cfg, isolate=False)
    for mode in ("none", "hard"):
        r = s[mode]
        assert r["examples"] == 15 and r["threads"] == 1
        assert r["throughput_bs4"] > 0 and len(r["throughput_bs8_runs"]) == 2
        assert 0 < r["latency_ms_median"] <= r["latency_ms_p90"]
        assert r["peak_rss_mb"] > 0
    assert s["none"]["flops_reduction"] == pytest.approx(1.0)
    assert s["flops_reduction"] == s["hard"]["flops_reduction"] > 1.1  # the benchmarked model really prunes
    assert s["flops_accounting"].startswith("honest")
    assert s["speedup_throughput_bs4"] == pytest.approx(s["hard"]["throughput_bs4"] / s["none"]["throughput_bs4"])
    assert s["flops_to_time_bs4"] == pytest.approx(s["speedup_throughput_bs4"] / s["flops_reduction"])
    assert _dt.datetime.fromisoformat(s["measured_at"]).tzinfo is not None and len(s["loadavg_before"]) == 3
    text = format_benchmark(s)
    assert f"measured {s['measured_at']}" in text and "load average before" in text
    assert "throughput bs4" in text and "latency bs1 median" in text and "FLOPs reduction" in text


def test_bench_cli_isolated_processes(ckpt, toy_data_dir, capsys):
    assert main(["bench", "--checkpoint", str(ckpt), "--data-dir", str(toy_data_dir), "--limit", "0",
                 "--batch-sizes", "8", "--latency-examples", "3", "--repeats", "1", "--threads", "1"]) == 0
    assert "speed-up" in capsys.readouterr().out
    stored = json.loads((ckpt / "bench.json").read_text())
    assert set(stored) == {"cpu"} and stored["cpu"]["config"]["batch_sizes"] == [8]


@pytest.mark.parametrize("args, message", [
    (["--batch-sizes", "a,b"], "comma-separated"),
    (["--repeats", "0"], "positive"),
    (["--device", "cuda"], "no CUDA GPU"),
])
def test_bench_bad_arguments(ckpt, args, message, capsys):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["bench", "--checkpoint", str(ckpt), *args]) == 2
    assert message in capsys.readouterr().err


def test_bench_int8_beside_fp32(ckpt, toy_data_dir, capsys):
    """--int8 times both modes again with int8 linears, compared with unpruned fp32, in fresh processes."""
    assert main(["bench", "--checkpoint", str(ckpt), "--data-dir", str(toy_data_dir), "--limit", "0", "--int8",
                 "--batch-sizes", "8", "--latency-examples", "3", "--repeats", "1", "--threads", "1", "--json",
                 "--no-save"]) == 0
    s = json.loads(capsys.readouterr().out)
    q = s["int8"]
    assert s["none"]["quantization"] == s["hard"]["quantization"] == "none"
    assert q["none"]["quantization"] == q["hard"]["quantization"] == "int8"
    # int8 still prunes (its scores move a little, so not exactly the same tokens on this tiny model)
    assert q["hard"]["flops_reduction"] > 1.1 and q["none"]["flops_reduction"] == pytest.approx(1.0)
    assert q["speedup_throughput_bs8"] == pytest.approx(q["hard"]["throughput_bs8"] / s["none"]["throughput_bs8"])
    assert "int8, vs fp32 pruning off" in format_benchmark(s)
    # both int8 runs on one kernel, recorded with the CPU it ran on (model name and torch's ISA capability)
    assert q["backend"] == q["none"]["int8_backend"] == q["hard"]["int8_backend"] is not None
    assert q["none"]["int8_choice"]["backend"] == q["backend"] and "int8_backend" not in s["none"]
    assert s["cpu"]["model"] and s["cpu"]["capability"] in s["device"] and s["cpu"]["model"] in s["device"]
    assert f"int8 kernel: {q['backend']}" in format_benchmark(s)


def test_bench_records_the_cpu(ckpt, toy_data_dir):
    """Every benchmark, fp32 or int8, says which CPU and ISA it ran on."""
    import torch

    cfg = BenchConfig(checkpoint=str(ckpt), limit=None, batch_sizes=(8,), latency_examples=2, repeats=1,
                      threads=1, data_dir=str(toy_data_dir))
    s = run_benchmark(cfg, isolate=False)
    assert s["cpu"]["capability"] == torch.backends.cpu.get_cpu_capability()
    assert set(s["cpu"]) == {"model", "capability", "int8_instructions", "isa_overrides"}
    assert s["device"].startswith(f"CPU {s['cpu']['model']} (") and "int8" not in s


def test_int8_refused_is_one_line_from_the_cli(ckpt, toy_data_dir, monkeypatch, capsys):
    """Where no int8 kernel beats fp32, `--int8` stops with one sentence saying so (a fake clock here)."""
    from ltp import quantize as q8

    monkeypatch.delenv(q8.BACKEND_ENV, raising=False)
    monkeypatch.setattr(q8, "_CHOICES", {})
    monkeypatch.setattr(q8, "time_call", lambda m, x: 1.0 if isinstance(m, q8.Int8Linear) else 0.5)
    assert main(["evaluate", "--checkpoint", str(ckpt), "--mode", "hard", "--int8", "--no-save",
                 "--data-dir", str(toy_data_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "int8 is refused on this CPU" in err and "0.50x fp32's speed" in err


def test_evaluate_int8_stored_beside_fp32(ckpt, toy_data_dir, capsys):
    dd = ["--data-dir", str(toy_data_dir)]
    assert main(["evaluate", "--checkpoint", str(ckpt), "--mode", "both", *dd]) == 0
    assert main(["evaluate", "--checkpoint", str(ckpt), "--mode", "both", "--int8", *dd]) == 0
    assert "mode=hard int8" in capsys.readouterr().out
    metrics = json.loads((ckpt / "metrics.json").read_text())
    assert {"test/none", "test/hard", "test/none+int8", "test/hard+int8"} <= set(metrics)
    fp, q = metrics["test/hard"], metrics["test/hard+int8"]
    assert q["quantization"] == "int8" and fp["quantization"] == "none"
    assert q["examples"] == fp["examples"] and abs(q["accuracy"] - fp["accuracy"]) <= 0.2
    from ltp.report import results_row

    assert results_row(ckpt)["ltp_accuracy"] == fp["accuracy"]  # the headline stays fp32


def test_int8_table_in_report_and_performance_page(ckpt, toy_data_dir, monkeypatch):
    """With int8 results stored, `ltp report --details` and the Performance page show fp32/int8 x off/on."""
    import sys
    from pathlib import Path

    from ltp.report import details_markdown
    from ltp.results import quantization_rows, read_bench, read_metrics

    dd = ["--data-dir", str(toy_data_dir)]
    for extra in ([], ["--int8"]):
        assert main(["evaluate", "--checkpoint", str(ckpt), "--mode", "both", *extra, *dd]) == 0
    assert main(["bench", "--checkpoint", str(ckpt), "--limit", "0", "--int8", "--batch-sizes", "8",
                 "--latency-examples", "3", "--repeats", "1", "--threads", "1", *dd]) == 0
    rows = quantization_rows(read_metrics(ckpt), read_bench(ckpt), "hard")
    assert [(r["weights"], r["pruning"]) for r in rows] == [("fp32", "off"), ("fp32", "hard"), ("int8", "off"),
                                                            ("int8", "hard")]
    metrics = json.loads((ckpt / "metrics.json").read_text())
    assert rows[3]["accuracy"] == metrics["test/hard+int8"]["accuracy"] and rows[0]["speedup_vs_fp32_off"] == 1.0
    assert all(r["throughput"] and r["accuracy"] is not None for r in rows)
    assert rows[3]["int8_backend"] and rows[0]["int8_backend"] is None  # the kernel the int8 rows ran on
    md = details_markdown(ckpt)
    assert "LTP with int8 (CPU)" in md and "| int8 | hard |" in md

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
    from streamlit.testing.v1 import AppTest

    models = ckpt.parent
    monkeypatch.setenv("LTP_MODELS_DIR", str(models))
    monkeypatch.setenv("LTP_DATA_DIR", str(toy_data_dir))
    home = Path(__file__).resolve().parents[1] / "app" / "Home.py"
    at = AppTest.from_file(str(home), default_timeout=120).run()
    at.sidebar.text_input(key="ckpt_path").input(str(ckpt)).run()
    at.switch_page("views/performance.py").run()
    assert not at.exception
    frames = [d.value for d in at.dataframe if "Weights" in d.value.columns]
    assert len(frames) == 1 and frames[0]["Weights"].tolist() == ["fp32", "fp32", "int8", "int8"]
