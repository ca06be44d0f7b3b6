"""How long `ltp data prepare` takes on a 1,000,000-row file, and its peak memory.

Builds a CSV of N rows from the shared data (AG News and IMDb texts, each copy numbered so
that no row is a duplicate; labels as strings, columns named as a user's export would be:
"Body", "Topic"), then runs `ltp data prepare` on it in a fresh process and reports wall time
and peak resident memory (the child's ru_maxrss), then `ltp evaluate`-style sampling
(`load_sample` of 2,000 rows) in another fresh process. Run on an idle machine:

    python benchmarks/prepare_scale.py [--rows 1000000] [--from ../shared/data] [--work /tmp/scale]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv


def build_csv(shared: Path, rows: int, out: Path) -> None:
    """N rows cycling through the shared texts; copy k of a text gets ' (k)' appended."""
    parts = []
    for name, labels in (("ag_news", ["World", "Sports", "Business", "Sci/Tech"]), ("imdb", ["negative", "positive"])):
        for split in ("train", "test"):
            df = pd.read_parquet(shared / name / f"{split}.parquet")
            parts.append(pd.DataFrame({"Body": df["text"], "Topic": [f"{name}:{labels[i]}" for i in df["label"]]}))
    base = pd.concat(parts, ignore_index=True).drop_duplicates("Body")
    reps = -(-rows // len(base))
    with pacsv.CSVWriter(out, pa.schema([("Body", pa.string()), ("Topic", pa.string())])) as w:
        written = 0
        for k in range(reps):
            chunk = base.iloc[: rows - written] if rows - written < len(base) else base
            body = chunk["Body"] if k == 0 else chunk["Body"] + f" ({k})"
            w.write_table(pa.table({"Body": body.to_numpy(), "Topic": chunk["Topic"].to_numpy()}))
            written += len(chunk)
            if written >= rows:
                break


def timed(cmd: list[str]) -> dict:
    """Wall time and peak RSS of one fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB; max over children so far
    return {"wall_s": round(wall, 1), "peak_rss_gib": round(max(peak, before) / 2**20, 2), "stdout": proc.stdout.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--from", dest="shared", default="../shared/data")
    ap.add_argument("--work", default="/tmp/ltp-scale")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"big-{args.rows}.csv"
    if not csv_path.is_file():
        build_csv(Path(args.shared), args.rows, csv_path)
    size = csv_path.stat().st_size / 2**20
    prep = timed([sys.executable, "-m", "ltp.cli", "data", "prepare", "big", "--from", str(csv_path),
                  "--data-dir", str(work / "data"), "--text-column", "Body", "--label-column", "Topic"])
    sample = timed([sys.executable, "-c", "from ltp.data import load_sample; import sys; "
                    f"df = load_sample('big', 'test', 2000, 0, {str(work / 'data')!r}); print(len(df), df.attrs['rows'])"])
    info = json.loads((work / "data" / "big" / "labels.json").read_text())
    print(f"file: {args.rows:,} rows, {size:.0f} MiB CSV")
    print(f"ltp data prepare: {prep['wall_s']} s, peak RSS {prep['peak_rss_gib']} GiB; rows {info['rows']}")
    print(f"load_sample(2000) of the test split: {sample['wall_s']} s (fresh process, imports included)")


if __name__ == "__main__":
    main()
