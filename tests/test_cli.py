"""The `ltp` command line, including every bad input named in the contract."""

import json
import subprocess
import sys

import pytest

from ltp.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_backbone, toy_data_dir):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", "--dataset", "toy", "--out", str(out), "--backbone", str(tiny_backbone),
                 "--data-dir", str(toy_data_dir), "--max-length", "24", "--batch-size", "8",
                 "--val-examples", "6", "--final-threshold", "0.05", "--quiet"])
    assert code == 0
    return out


def test_train_writes_all_stages(run_dir):
    assert all((run_dir / s / "config.json").is_file() for s in ("baseline", "soft", "hard"))
    config = json.loads((run_dir / "train_config.json").read_text())
    assert config["max_length"] == 24 and config["stages"] == ["baseline", "soft", "hard"]
    card = json.loads((run_dir / "hard" / "config.json").read_text())
    assert card["training"]["command"].startswith("ltp train --dataset toy")


def test_evaluate_prints_and_stores_metrics(run_dir, toy_data_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data-dir", str(toy_data_dir), "--mode", "both"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "confusion matrix" in out and "tokens alive per layer" in out
    metrics = json.loads((run_dir / "hard" / "metrics.json").read_text())
    assert set(metrics) == {"test/none", "test/hard"}
    hard = metrics["test/hard"]
    assert hard["examples"] == 15 and len(hard["tokens_alive_per_layer"]) == 3
    assert hard["flops_reduction"] >= 1.0 and metrics["test/none"]["flops_reduction"] == pytest.approx(1.0)
    assert set(hard["per_class"]) == {"Sports", "Business", "Sci/Tech"}


def test_evaluate_json_with_limit(run_dir, toy_data_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data-dir", str(toy_data_dir), "--limit", "6",
                 "--json", "--no-save"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["examples"] == 6 and res["mode"] == "hard"


def test_prune_text(run_dir, capsys):
    assert main(["prune", "--checkpoint", str(run_dir), "the striker scored in the final"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nlayer ") == 3 and out.startswith("input: ") and "prediction:" in out


def test_prune_json_schema(run_dir, capsys):
    assert main(["prune", "--checkpoint", str(run_dir), "--json", "oil prices hit a record"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"text", "prediction", "probabilities", "layers"} <= set(res)
    assert res["prediction"] in res["probabilities"]
    layer = res["layers"][0]
    assert {"layer", "count", "tokens", "positions", "scores", "threshold"} <= set(layer)
    assert [lt["layer"] for lt in res["layers"]] == [1, 2, 3]
    for lt in res["layers"]:
        assert lt["count"] == len(lt["tokens"]) == len(lt["positions"]) == len(lt["scores"])
    counts = [lt["count"] for lt in res["layers"]]
    assert counts == sorted(counts, reverse=True)  # pruning cascades


def test_prune_reads_stdin(run_dir):
    proc = subprocess.run([sys.executable, "-m", "ltp.cli", "prune", "--checkpoint", str(run_dir), "--json", "-"],
                          input="shares of the company rose", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["text"] == "shares of the company rose"


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_prune_empty_text(run_dir, text, capsys):
    assert main(["prune", "--checkpoint", str(run_dir), text]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ltp: error:") and "empty" in err and "\n" not in err


def test_prune_long_text_is_truncated_and_said(run_dir, capsys):
    assert main(["prune", "--checkpoint", str(run_dir), "--json", "word " * 500]) == 0
    cap = capsys.readouterr()
    assert "truncated" in cap.err
    res = json.loads(cap.out)
    assert res["truncated"] is True and res["input_tokens"] == 24


def test_missing_checkpoint(tmp_path, capsys):
    assert main(["prune", "--checkpoint", str(tmp_path / "nope"), "hello"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1


def test_broken_checkpoint(run_dir, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run_dir / "hard", broken)
    (broken / "model.safetensors").write_bytes(b"not a tensor file")
    assert main(["evaluate", "--checkpoint", str(broken)]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_unknown_dataset(tmp_path, capsys):
    assert main(["data", "prepare", "reuters", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Unknown data set" in err and "ag_news" in err


def test_train_unknown_dataset(tmp_path, capsys):
    assert main(["train", "--dataset", "reuters", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path)]) == 2
    assert "Unknown data set" in capsys.readouterr().err


def test_evaluate_without_prepared_data(run_dir, tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data-dir", str(tmp_path / "empty")]) == 2
    assert "ltp data prepare" in capsys.readouterr().err


def test_evaluate_limit_zero(run_dir, toy_data_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data-dir", str(toy_data_dir), "--limit", "0"]) == 2
    assert "limit" in capsys.readouterr().err


def test_data_prepare_from_folder(tmp_path, capsys):
    import pandas as pd

    src = tmp_path / "src" / "imdb"
    src.mkdir(parents=True)
    pd.DataFrame({"text": ["good <br />film", "bad"], "label": [1, 0]}).to_parquet(src / "train.parquet")
    pd.DataFrame({"text": ["fine", "awful"], "label": [1, 0]}).to_parquet(src / "test.parquet")
    assert main(["data", "prepare", "imdb", "--from", str(tmp_path / "src"), "--data-dir", str(tmp_path / "d")]) == 0
    assert "prepared imdb" in capsys.readouterr().out
    assert (tmp_path / "d" / "imdb" / "train.parquet").is_file()


def test_help_explains_every_option():
    for sub in (["train"], ["evaluate"], ["prune"], ["data", "prepare"]):
        proc = subprocess.run([sys.executable, "-m", "ltp.cli", *sub, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0
        assert "default" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "ltp.cli", "train", "--help"], capture_output=True, text=True)
    for opt in ("--stages", "--epochs", "--max-train-examples", "--max-length", "--lambda", "--temperature",
                "--final-threshold", "--seed", "--backbone"):
        assert opt in proc.stdout


def test_report_table_from_stored_metrics(run_dir, toy_data_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir / "baseline"), "--data-dir", str(toy_data_dir)]) == 0
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data-dir", str(toy_data_dir)]) == 0
    capsys.readouterr()
    assert main(["report", str(run_dir), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    base = json.loads((run_dir / "baseline" / "metrics.json").read_text())["test/none"]
    hard = json.loads((run_dir / "hard" / "metrics.json").read_text())["test/hard"]
    assert row["baseline_accuracy"] == base["accuracy"] and row["ltp_accuracy"] == hard["accuracy"]
    assert row["accuracy_drop_points"] == pytest.approx(100 * (base["accuracy"] - hard["accuracy"]))
    assert row["cpu_speedup_bs32"] is None  # not benchmarked: shown as a dash, never invented
    assert main(["report", str(run_dir)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| model |") and "| – / – |" in table and "–x" not in table
