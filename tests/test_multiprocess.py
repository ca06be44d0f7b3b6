"""Multi-process training under `accelerate launch`: two CPU processes (gloo) on a tiny model.

The same command with `--multi_gpu --num_processes N` (and `--num_machines`, `--machine_rank`,
`--main_process_ip` for several nodes) runs on GPUs; see the README.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Runs `ltp train` with every file rename recorded with the rank of the process that made it:
# all writes of ltp-lens (checkpoints, logs' siblings, resume state) end in os.replace.
LAUNCHER = """
import json, os, sys
real = os.replace
def replace(src, dst, *a, **k):
    with open(os.environ["LTP_TEST_WRITES"], "a") as f:
        f.write(json.dumps({"rank": int(os.environ.get("RANK", -1)), "dst": str(dst)}) + "\\n")
    return real(src, dst, *a, **k)
os.replace = replace
from ltp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("accelerate") is None and not (Path(sys.executable).parent / "accelerate").exists(),
                    reason="accelerate's launcher is not installed")
def test_two_cpu_processes_train_and_only_the_main_one_writes(tmp_path, tiny_backbone, toy_data_dir):
    launcher = tmp_path / "launch_ltp.py"
    launcher.write_text(LAUNCHER)
    writes = tmp_path / "writes.jsonl"
    run = tmp_path / "run"
    accelerate = Path(sys.executable).parent / "accelerate"
    cmd = [str(accelerate if accelerate.exists() else "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()), str(launcher),
           "train", "--dataset", "toy", "--out", str(run), "--backbone", str(tiny_backbone),
           "--data-dir", str(toy_data_dir), "--max-length", "24", "--batch-size", "8", "--val-examples", "6",
           "--stages", "baseline,soft,hard", "--quiet"]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "LTP_TEST_WRITES": str(writes), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # both processes trained: each epoch ran half of the batches (the global order split by rank)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    epochs = [r for r in log if "steps" in r and r.get("stage") == "baseline"]
    train_rows = 60 - 6
    assert epochs and epochs[0]["steps"] == math.ceil(math.ceil(train_rows / 8) / 2)
    assert sum(1 for r in log if r.get("event") == "start" and r["stage"] == "baseline") == 1  # logged once

    # only the main process (rank 0) wrote: checkpoints, configs, metrics
    ranks = {json.loads(line)["rank"] for line in writes.read_text().splitlines()}
    assert ranks == {0}, ranks
    assert {p.name for p in run.iterdir() if not p.name.startswith(".")} >= {"baseline", "soft", "hard"}
    assert not [p for p in run.iterdir() if ".tmp" in p.name or ".old" in p.name]

    # the result loads and predicts
    from ltp.checkpoint import load_checkpoint
    from ltp.trace import trace

    ckpt = load_checkpoint(run / "hard")
    tr = trace(ckpt.model, ckpt.tokenizer, "the striker scored twice", ckpt.max_length, ckpt.label_names)
    assert tr.prediction in ckpt.label_names
