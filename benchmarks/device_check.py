"""Check that hard pruning gives the same results on a GPU as on the CPU.

`python benchmarks/device_check.py CHECKPOINT [--backbone DIR] [--n 256]`: runs the same
test examples (batch 64, length-sorted) through the model on both devices and reports the
largest logit difference, prediction agreement and whether the same tokens survive.
"""

import argparse

import numpy as np
import torch

from ltp.checkpoint import load_checkpoint
from ltp.evaluate import evaluation_examples
from ltp.inference import predict
from ltp.text import encode


def run(path: str, backbone: str | None, n: int, device: str):
    ckpt = load_checkpoint(path, backbone=backbone, check_backbone=backbone is None)
    df = evaluation_examples(ckpt, "test", n, None, seed=0)
    enc = encode(ckpt.tokenizer, df["text"].tolist(), ckpt.max_length, ckpt.truncation)
    model = ckpt.model.to(device)
    logits = {}

    def keep(_, out, idx):
        for b, i in enumerate(idx):
            logits[int(i)] = out.logits[b].float().cpu().numpy()

    p = predict(model, enc, ckpt.tokenizer.pad_token_id, batch_size=64, on_batch=keep)
    return np.stack([logits[i] for i in range(len(df))]), p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--backbone", default=None)
    ap.add_argument("--n", type=int, default=256)
    args = ap.parse_args()
    cpu_logits, cpu = run(args.checkpoint, args.backbone, args.n, "cpu")
    gpu_logits, gpu = run(args.checkpoint, args.backbone, args.n, "cuda")
    print(f"device: {torch.cuda.get_device_name(0)}; examples {len(cpu_logits)}")
    print(f"max |logit difference| {np.abs(cpu_logits - gpu_logits).max():.2e}")
    print(f"prediction agreement {(cpu.predicted == gpu.predicted).mean():.4f}")
    print(f"identical tokens alive per layer in {np.mean((cpu.tokens_alive == gpu.tokens_alive).all(1)):.4f} of examples")
    print(f"FLOPs reduction cpu {cpu.flops_unpruned.sum() / cpu.flops.sum():.3f}, gpu {gpu.flops_unpruned.sum() / gpu.flops.sum():.3f}")


if __name__ == "__main__":
    main()
