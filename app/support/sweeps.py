"""A checkpoint's stored trade-off sweep (sweep.json) as chart points and a table, and the
checkpoint itself as a point among them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ltp.results import SWEEP, Results


SWEEP_COLUMNS = ("method", "label", "accuracy", "f1", "flops_reduction", "speedup")


def sweep_points(results: Results) -> pd.DataFrame | None:
    """The accuracy-vs-FLOPs points of a checkpoint's sweep.json (None when it has none), one row
    per point. Raises ValueError when the points lack the expected fields."""
    path = Path(results.path or ".") / SWEEP
    if results.sweep is None:
        return None
    points = results.sweep.points
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
        raise ValueError(f"{path} must hold a non-empty list of points ({', '.join(SWEEP_COLUMNS)}).")
    df = pd.DataFrame(points)
    missing = [c for c in ("method", "label", "accuracy", "flops_reduction") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks field(s) {missing}; each point needs {', '.join(SWEEP_COLUMNS)}.")
    extra = [c for c in df.columns if c not in SWEEP_COLUMNS and not isinstance(df[c].iloc[0], (list, dict))]
    if "checkpoint" in df:  # the sweep's run folders: their names tell the runs apart, the server path nothing
        df["checkpoint"] = df["checkpoint"].map(lambda c: "/".join(Path(c).parts[-3:]) if isinstance(c, str) else c)
    return df.reindex(columns=[*SWEEP_COLUMNS, *extra])


def sweep_flops_count(points: pd.DataFrame) -> str:
    """Which FLOPs count a sweep's points use: "honest" (a newer sweep, which stores the all-tokens
    count beside it) or "all-tokens" (an older one)."""
    col = points.get("flops_reduction_all_tokens")
    return "honest" if col is not None and col.notna().any() else "all-tokens"


def sweep_table(points: pd.DataFrame) -> pd.DataFrame:
    """The sweep's points for a page: human names, no speed-up (a sweep times each point in its own
    evaluation pass on a busy machine, which is no benchmark; speed comes from ``ltp bench``)."""
    names = {"method": "Method", "label": "Point", "accuracy": "Accuracy", "f1": "Macro F1",
             "flops_reduction": f"FLOPs reduction ({sweep_flops_count(points)})", "examples": "Texts",
             "checkpoint": "Run"}
    return points.reindex(columns=[c for c in names if c in points.columns]).rename(columns=names)


def shipped_point(results: Results, points: pd.DataFrame, name: str) -> dict | None:
    """The checkpoint itself as a point of its trade-off chart: its pruned accuracy and its FLOPs
    reduction in the sweep's own count (``sweep_flops_count``), so the star and the lines compare;
    None when no pruned result is stored."""
    result = results.pruned()
    if not result or result.accuracy is None:
        return None
    honest, all_tokens = result.flops_reduction, result.flops_reduction_all_tokens
    count = sweep_flops_count(points)
    flops = (honest if count == "honest" else all_tokens) or honest or all_tokens
    if not flops:
        return None
    swept = points["examples"].dropna() if "examples" in points else pd.Series(dtype=float)
    note = (f"accuracy on the {result.sample or 'test split'}"
            + (f"; the sweep's points on {int(swept.iloc[0]):,} texts" if len(swept) else "")
            + f"; FLOPs in the sweep's {count} count")
    return {"accuracy": float(result.accuracy), "flops_reduction": float(flops), "label": name, "note": note,
            "flops_count": count}


def sweep_command(ckpt: Path, dataset: str | None) -> str:
    """The command that stores a trade-off sweep beside a checkpoint."""
    return (f"ltp sweep --dataset {dataset or 'NAME'} --baseline BASELINE_CHECKPOINT --out runs/sweep "
            f"--store-in {ckpt}")
