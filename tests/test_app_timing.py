"""The opt-in script-run timing hook (app/timing.py): off without LTP_TIMING_LOG, one JSON line per
run with it, the outcome of stopped / interrupted / failing runs, and the real app under AppTest."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))
import timing  # noqa: E402


class StopException(Exception):  # named as Streamlit's, which timing matches by name
    pass


class RerunException(Exception):
    pass


def test_off_without_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(timing.TIMING_ENV, raising=False)
    with timing.script_run():
        pass
    assert list(tmp_path.iterdir()) == []


def test_one_record_per_run_with_wall_and_cpu_time(monkeypatch, tmp_path):
    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv(timing.TIMING_ENV, str(log))
    with timing.script_run():
        sum(i * i for i in range(200_000))  # some CPU
    (run,) = [r for r in timing.read_log(log) if r["event"] == "run"]
    assert run["outcome"] == "ok" and run["session"] is None and run["client"] is None  # outside Streamlit
    assert run["end"] >= run["start"] and run["wall_s"] == pytest.approx(run["end"] - run["start"])
    assert 0 < run["cpu_s"] <= run["wall_s"] + 0.05


@pytest.mark.parametrize("exc, outcome", [(StopException, "stopped"), (RerunException, "rerun"),
                                          (ValueError, "error")])
def test_outcome_of_a_run_that_raises_and_the_exception_passes_through(monkeypatch, tmp_path, exc, outcome):
    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv(timing.TIMING_ENV, str(log))
    with pytest.raises(exc):
        with timing.script_run():
            raise exc()
    assert [r["outcome"] for r in timing.read_log(log) if r["event"] == "run"] == [outcome]


def test_full_collections_are_logged(monkeypatch, tmp_path):
    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv(timing.TIMING_ENV, str(log))
    with timing.script_run():
        gc.collect(2)
    gcs = [r for r in timing.read_log(log) if r["event"] == "gc"]
    assert gcs and all(r["end"] >= r["start"] for r in gcs)


def test_profile_per_run(monkeypatch, tmp_path):
    import pstats

    monkeypatch.setenv(timing.TIMING_ENV, str(tmp_path / "timing.jsonl"))
    monkeypatch.setenv(timing.PROFILE_ENV, str(tmp_path / "prof"))
    with timing.script_run():
        sorted(range(1000))
    (prof,) = (tmp_path / "prof").glob("*.prof")
    assert pstats.Stats(str(prof)).total_calls > 0


def test_a_half_written_line_is_skipped(tmp_path):
    log = tmp_path / "timing.jsonl"
    log.write_text('{"event": "run", "start": 1}\n{"event": "ru')
    assert timing.read_log(log) == [{"event": "run", "start": 1}]


def test_the_app_logs_its_runs_with_session_and_page(app_models, monkeypatch, tmp_path):
    """Home.py's hook under AppTest: each run of the prune page is one record of one session."""
    from streamlit.testing.v1 import AppTest

    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv("LTP_MODELS_DIR", str(app_models["models_dir"]))
    monkeypatch.setenv("LTP_DATA_DIR", str(app_models["data_dir"]))
    monkeypatch.setenv(timing.TIMING_ENV, str(log))
    at = AppTest.from_file(str(APP / "Home.py"), default_timeout=120)
    at.query_params[timing.CLIENT_PARAM] = "7"
    at.run()
    at.text_area(key="prune_text").input("the striker scored twice").run()
    assert not at.exception
    runs = [r for r in timing.read_log(log) if r["event"] == "run"]
    assert [r["outcome"] for r in runs] == ["ok", "ok"]
    assert len({r["session"] for r in runs}) == 1 and runs[0]["session"]
    assert {r["client"] for r in runs} == {"7"}
    assert {r["page"] for r in runs} == {"Prune a sentence"}
