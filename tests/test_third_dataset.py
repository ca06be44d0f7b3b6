"""A data set that is neither AG News nor IMDb (support tickets: other column names, string
labels, five classes, no test split) through every command by name on a tiny model."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ltp.cli import main

QUEUES = {
    "printing": ["the printer on floor {} is jammed", "cannot print page {} in colour", "toner empty on printer {}"],
    "billing": ["invoice {} was charged twice", "refund for order {} please", "wrong amount on bill {}"],
    "accounts": ["reset my password {} please", "locked out of account {}", "new login {} for a colleague"],
    "network": ["wifi drops every {} minutes", "vpn fails on laptop {}", "no internet in room {}"],
    "hardware": ["screen {} flickers", "keyboard {} lost a key", "laptop {} will not boot"],
}


@pytest.fixture(scope="module")
def tickets(tmp_path_factory, tiny_backbone):
    """The tickets file prepared, then trained baseline -> soft -> hard, all through the CLI."""
    root = tmp_path_factory.mktemp("tickets")
    rows = [{"Subject": t.format(i), "Queue": q} for q, ts in QUEUES.items() for t in ts for i in range(6)]
    rows += [{"Subject": "   ", "Queue": "billing"}, {"Subject": rows[0]["Subject"], "Queue": "printing"}]
    pd.DataFrame(rows).to_csv(root / "tickets.csv", index=False)
    data_dir = root / "data"
    assert main(["data", "prepare", "tickets", "--from", str(root / "tickets.csv"), "--data-dir", str(data_dir),
                 "--text-column", "Subject", "--label-column", "Queue"]) == 0
    run = root / "run"
    assert main(["train", "--dataset", "tickets", "--out", str(run), "--backbone", str(tiny_backbone),
                 "--data-dir", str(data_dir), "--max-length", "24", "--batch-size", "8", "--val-examples", "10",
                 "--final-threshold", "0.05", "--quiet"]) == 0
    return {"data_dir": data_dir, "run": run}


def test_prepared_with_names_drops_and_a_made_split(tickets):
    info = json.loads((tickets["data_dir"] / "tickets" / "labels.json").read_text())
    assert info["label_names"] == sorted(QUEUES)
    assert info["columns"]["train"] == {"text": "Subject", "label": "Queue"}
    assert info["dropped"] == {"train": {"empty text": 1, "duplicate text": 1}}
    assert info["test_split"]["from"] == "made" and sum(info["rows"].values()) == 90


def test_evaluate_analyze_report_by_name(tickets, capsys):
    run, data_dir = tickets["run"], tickets["data_dir"]
    assert main(["evaluate", "--checkpoint", str(run), "--data-dir", str(data_dir), "--mode", "both"]) == 0
    metrics = json.loads((run / "hard" / "metrics.json").read_text())
    assert set(metrics["test/hard"]["per_class"]) == set(QUEUES)
    rows = json.loads((data_dir / "tickets" / "labels.json").read_text())["rows"]
    assert metrics["test/hard"]["examples"] == rows["test"] == 20  # 4 of each queue's 18
    assert "views" in metrics["test/hard"]  # the short-input views run on any data set
    capsys.readouterr()
    assert main(["analyze", "--checkpoint", str(run / "hard"), "--data-dir", str(data_dir)]) == 0
    summary = json.loads((run / "hard" / "analysis" / "summary.json").read_text())
    assert summary["meta"]["label_names"] == sorted(QUEUES) and summary["meta"]["dataset"] == "tickets"
    assert main(["report", str(run / "hard")]) == 0
    assert "tickets" in capsys.readouterr().out


def test_prune_predicts_one_of_its_classes(tickets, capsys):
    assert main(["prune", "--checkpoint", str(tickets["run"]), "--json", "the printer is jammed again"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["prediction"] in QUEUES and set(res["probabilities"]) == set(QUEUES)


def test_bad_source_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("words,queue\nhello,a\n")
    assert main(["data", "prepare", "t", "--from", str(tmp_path / "t.csv"), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lacks column(s) ['text', 'label']; found ['words', 'queue']" in err and "Traceback" not in err


def test_dashboard_lists_it_and_every_page_renders(tickets, tmp_path, monkeypatch):
    """The five-class ticket model in the dashboard: picked from the models dir, every page renders
    (AppTest), random examples come from its own test split."""
    import shutil
    import sys
    from pathlib import Path

    run, data_dir = tickets["run"], tickets["data_dir"]
    if not (run / "hard" / "analysis" / "summary.json").is_file():
        assert main(["analyze", "--checkpoint", str(run / "hard"), "--data-dir", str(data_dir)]) == 0
    if not (run / "hard" / "metrics.json").is_file():
        assert main(["evaluate", "--checkpoint", str(run), "--data-dir", str(data_dir), "--mode", "both"]) == 0
    models = tmp_path / "models"
    shutil.copytree(run / "hard", models / "tickets-tiny")
    app = Path(__file__).resolve().parents[1] / "app"
    sys.path.insert(0, str(app))
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LTP_MODELS_DIR", str(models))
    monkeypatch.setenv("LTP_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(app / "Home.py"), default_timeout=120).run()
    assert at.sidebar.selectbox(key="ckpt_choice").value.name == "tickets-tiny"
    assert "tickets (5 classes)" in " ".join(m.value for m in at.sidebar.markdown)
    at.button(key="prune_random").click().run()
    assert not at.exception and any("of tickets; gold class:" in c.value for c in at.caption)
    for page in ["views/score.py", "views/performance.py", "views/retained.py", "views/pos.py",
                 "views/embedding.py", "views/domain.py", "views/about.py"]:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])


def test_sweep_by_name(tickets, tmp_path, capsys):
    run, data_dir = tickets["run"], tickets["data_dir"]
    assert main(["sweep", "--dataset", "tickets", "--baseline", str(run / "baseline"), "--out", str(tmp_path / "sw"),
                 "--targets", "1.3", "--no-topk", "--max-train-examples", "40", "--eval-limit", "0",
                 "--batch-size", "8", "--data-dir", str(data_dir), "--quiet"]) == 0
    rec = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert rec["points"] and all(p["examples"] == 20 for p in rec["points"])
