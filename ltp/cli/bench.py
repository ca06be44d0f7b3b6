"""`ltp bench`: wall-clock speed of the same weights with pruning off and on (bench.json)."""

from __future__ import annotations

import json

from ltp.cli import options

NAME = "bench"


def add_parser(sub) -> None:
    b = options.add_command(sub, NAME, "wall-clock speed of the same weights with pruning off and on")
    g = b.add_argument_group("input")
    options.add_checkpoint(g)
    options.add_split(g)
    g.add_argument("--limit", type=int, default=2000, help="examples timed (seeded stratified sample; 0 = all)")
    options.add_data_dir(g)
    g.add_argument("--no-backbone-check", action="store_true",
                   help="skip the backbone sha256 check (for a re-encoded copy of the backbone, e.g. float16)")
    g = b.add_argument_group("timing")
    g.add_argument("--batch-sizes", default="32", help="comma-separated throughput batch sizes")
    g.add_argument("--latency-examples", type=int, default=200, help="examples timed one at a time (batch 1)")
    g.add_argument("--repeats", type=int, default=3, help="timed passes per measurement; the median is reported")
    g.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    g.add_argument("--device", default="cpu", help="cpu or cuda")
    options.add_int8(g, "time both modes again that way (reported beside fp32)")
    g = b.add_argument_group("output")
    options.add_json(g, "the result")
    options.add_no_save(g, "bench.json")


def _batch_sizes(args) -> tuple[int, ...]:
    """--batch-sizes as integers, checked with --repeats and --latency-examples."""
    try:
        sizes = tuple(int(x) for x in args.batch_sizes.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"--batch-sizes must be comma-separated integers, got {args.batch_sizes!r}.") from None
    if not sizes or min(sizes) < 1 or args.repeats < 1 or args.latency_examples < 1:
        raise ValueError("--batch-sizes, --repeats and --latency-examples must be positive.")
    return sizes


def run(args) -> int:
    from ltp.bench import BenchConfig, format_benchmark, run_benchmark, store_benchmark
    from ltp.checkpoint import find_checkpoint

    path = find_checkpoint(args.checkpoint)
    sizes = _batch_sizes(args)
    if args.int8 and args.device != "cpu":
        raise ValueError("--int8 runs on the CPU (its int8 GEMM is torch's CPU kernel); use --device cpu.")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu.")
    cfg = BenchConfig(checkpoint=str(path), split=args.split, limit=args.limit or None, batch_sizes=sizes,
                      latency_examples=args.latency_examples, repeats=args.repeats, threads=args.threads,
                      device=args.device, data_dir=args.data_dir, backbone=args.backbone,
                      check_backbone=not args.no_backbone_check, int8=args.int8)
    summary = run_benchmark(cfg)
    if not args.no_save:
        store_benchmark(path, summary, "cuda" if args.device.startswith("cuda") else "cpu")
    print(json.dumps(summary, indent=2) if args.json else format_benchmark(summary))
    return 0
