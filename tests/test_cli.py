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
    # a baseline measured on other examples gives no drop (not comparable), only its own numbers
    assert main(["evaluate", "--checkpoint", str(run_dir / "baseline"), "--data-dir", str(toy_data_dir),
                 "--limit", "9"]) == 0
    capsys.readouterr()
    assert main(["report", str(run_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["accuracy_drop_points"] is None


# --------------------------------------------------------------------------- export / card (shipping a model)


@pytest.fixture()
def run_copy(run_dir, tmp_path):
    import shutil

    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    for stage in ("baseline", "soft", "hard"):
        (dst / stage / "metrics.json").unlink(missing_ok=True)
    return dst


def test_export_needs_baseline_metrics_on_the_same_examples(run_copy, toy_data_dir, tmp_path, capsys):
    out = tmp_path / "models" / "toy-ltp"
    assert main(["export", str(run_copy), "--out", str(out)]) == 2
    assert "no unpruned metrics" in capsys.readouterr().err and not out.exists()
    dd = ["--data-dir", str(toy_data_dir)]
    assert main(["evaluate", "--checkpoint", str(run_copy / "baseline"), "--limit", "9", *dd]) == 0
    assert main(["evaluate", "--checkpoint", str(run_copy), *dd]) == 0  # full split: not the same examples
    assert main(["export", str(run_copy), "--out", str(out)]) == 2
    assert "same examples" in capsys.readouterr().err and not out.exists()


def test_export_ships_weights_baseline_metrics_lineage_and_card(run_copy, toy_data_dir, tmp_path, capsys):
    from ltp.bench import BenchConfig, run_benchmark, store_benchmark
    from ltp.checkpoint import load_checkpoint
    from ltp.inference import predict
    from ltp.text import encode
    from ltp.report import results_row

    dd = ["--data-dir", str(toy_data_dir)]
    assert main(["evaluate", "--checkpoint", str(run_copy / "baseline"), *dd]) == 0
    assert main(["evaluate", "--checkpoint", str(run_copy), "--mode", "both", *dd]) == 0
    out = tmp_path / "models" / "toy-ltp"
    assert main(["export", str(run_copy), "--out", str(out), "--data-note", "toy rows, made up"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "config.json", "lineage.json", "metrics.json", "model.safetensors", "train_log.jsonl"])
    metrics = json.loads((out / "metrics.json").read_text())
    base = json.loads((run_copy / "baseline" / "metrics.json").read_text())["test/none"]
    assert metrics["baseline/test"]["accuracy"] == base["accuracy"]
    assert metrics["baseline/test"]["checkpoint"] == str(run_copy / "baseline")
    assert {"test/none", "test/hard"} <= set(metrics)
    lineage = json.loads((out / "lineage.json").read_text())
    assert [s["stage"] for s in lineage["stages"]] == ["baseline", "soft", "hard"]
    assert all(s["wall_seconds"] is not None and s["command"].startswith("ltp train") for s in lineage["stages"])
    card = (out / "README.md").read_text()
    assert "# toy-ltp" in card and "unpruned baseline" in card and "Accuracy drop" in card
    assert "| baseline | 1 |" in card and "ltp train --dataset toy" in card and "Source: toy rows, made up" in card
    # the shipped copy predicts exactly like the run's checkpoint, and the report finds its baseline
    texts = ["the match ended in a draw", "shares fell on the market"]
    a, b = load_checkpoint(run_copy / "hard"), load_checkpoint(out)
    pa, pb = (predict(c.model, encode(c.tokenizer, texts, c.max_length), c.tokenizer.pad_token_id) for c in (a, b))
    assert (pa.probabilities == pb.probabilities).all() and (pa.tokens_alive == pb.tokens_alive).all()
    row = results_row(out)
    assert row["baseline_accuracy"] == base["accuracy"] and row["ltp_accuracy"] == metrics["test/hard"]["accuracy"]
    # replacing needs --force; `ltp card` picks up a benchmark stored later
    assert main(["export", str(run_copy), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    cfg = BenchConfig(checkpoint=str(out), limit=None, batch_sizes=(4,), latency_examples=3, repeats=1,
                      data_dir=str(toy_data_dir))
    store_benchmark(out, run_benchmark(cfg, isolate=False), "cpu")
    assert main(["card", str(out)]) == 0
    card = (out / "README.md").read_text()
    assert "## Speed (cpu" in card and "throughput, batch 4" in card and "LTP with int8" not in card
    # int8 results, once measured, get their own table in the card
    assert main(["evaluate", "--checkpoint", str(out), "--mode", "both", "--int8", "--views", "none", *dd]) == 0
    store_benchmark(out, run_benchmark(BenchConfig(**{**cfg.__dict__, "int8": True}), isolate=False), "cpu")
    assert main(["card", str(out)]) == 0
    card = (out / "README.md").read_text()
    assert "## LTP with int8 (CPU)" in card and "| int8 | hard |" in card and "| int8 | off |" in card
    capsys.readouterr()
    assert main(["report", str(out), "--details"]) == 0
    printed = capsys.readouterr().out
    assert "| `" + str(out) + "` | toy (15)" in printed and "speed (cpu)" in printed and "throughput, batch 4" in printed
    assert main(["export", str(run_copy), "--out", str(out), "--force"]) == 0
    assert not (out / "bench.json").exists()  # a forced export starts the model dir afresh


def test_export_refuses_a_baseline_or_a_foreign_dir(run_copy, tmp_path, capsys):
    assert main(["export", str(run_copy / "baseline"), "--out", str(tmp_path / "m")]) == 2
    assert "baseline checkpoint" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "not an ltp-lens checkpoint" in capsys.readouterr().err
    assert main(["card", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_every_command_has_help_with_real_defaults_only(capsys):
    """Each command of the dispatch table parses --help; no '(default: None)' noise."""
    from ltp.cli import COMMANDS, build_parser

    assert list(COMMANDS) == ["data", "train", "calibrate", "evaluate", "prune", "analyze", "bench", "sweep", "export", "card",
                              "report"]
    for argv in [[name] for name in COMMANDS] + [["data", "prepare"]]:
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args([*argv, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert "(default: None)" not in text and "(default: False)" not in text and "(default: True)" not in text


def test_python_dash_m_ltp():
    proc = subprocess.run([sys.executable, "-m", "ltp", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("ltp-lens ")


def test_export_push_to_hub_uploads_the_model_dir(run_copy, toy_data_dir, tmp_path, capsys, monkeypatch):
    """`ltp export --push-to-hub` uploads what it wrote (a fake HfApi: no network); a Hub failure is one line."""
    from pathlib import Path

    import huggingface_hub

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, private=False, exist_ok=False, repo_type=None, **kw):
            calls.append(("create", repo_id, private))
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, repo_id, folder_path, **kw):
            calls.append(("upload", repo_id, sorted(p.name for p in Path(folder_path).iterdir())))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    dd = ["--data-dir", str(toy_data_dir)]
    assert main(["evaluate", "--checkpoint", str(run_copy / "baseline"), *dd]) == 0
    assert main(["evaluate", "--checkpoint", str(run_copy), "--mode", "both", *dd]) == 0
    out = tmp_path / "shared-model"
    assert main(["export", str(run_copy), "--out", str(out), "--push-to-hub", "me/toy-ltp", "--private"]) == 0
    assert calls[0] == ("create", "me/toy-ltp", True)
    assert calls[1][:2] == ("upload", "me/toy-ltp") and {"config.json", "model.safetensors", "README.md"} <= set(calls[1][2])
    assert "pushed to https://huggingface.co/me/toy-ltp" in capsys.readouterr().out

    class Offline(FakeApi):
        def create_repo(self, *a, **k):
            raise ConnectionError("no route to huggingface.co")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    assert main(["export", str(run_copy), "--out", str(out), "--force", "--push-to-hub", "me/toy-ltp"]) == 2
    err = capsys.readouterr().err
    assert "Could not push" in err and "hf auth login" in err and "Traceback" not in err


def test_export_takes_a_named_pruned_checkpoint_as_its_baseline(run_copy, toy_data_dir, tmp_path, capsys):
    """A run started (--init) from an earlier pruned model: that model with pruning off is the
    "fine-tuned on the task" baseline when named with --baseline, and the lineage says so."""
    dd = ["--data-dir", str(toy_data_dir)]
    assert main(["evaluate", "--checkpoint", str(run_copy / "soft"), "--mode", "none", *dd]) == 0
    assert main(["evaluate", "--checkpoint", str(run_copy), "--mode", "both", *dd]) == 0
    out = tmp_path / "m"
    assert main(["export", str(run_copy), "--out", str(out), "--baseline", str(run_copy / "soft")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    soft = json.loads((run_copy / "soft" / "metrics.json").read_text())["test/none"]
    assert metrics["baseline/test"]["accuracy"] == soft["accuracy"]
    assert "soft checkpoint" in json.loads((out / "lineage.json").read_text())["baseline_note"]
    # a reship from a shipped model (--baseline models/X) keeps that model's whole lineage, the
    # fine-tuning it started from included, ahead of the new run's stages
    lineage = json.loads((out / "lineage.json").read_text())
    first = {**lineage["stages"][0], "stage": "baseline", "command": "ltp train --first-release"}
    (out / "lineage.json").write_text(json.dumps({**lineage, "stages": [first, *lineage["stages"]]}))
    again = tmp_path / "m2"
    assert main(["export", str(run_copy), "--out", str(again), "--baseline", str(out)]) == 0
    stages = json.loads((again / "lineage.json").read_text())["stages"]
    assert stages[0]["command"] == "ltp train --first-release" and stages[-1]["stage"] == "hard"
