"""benchmarks/load_test.py: its pure parts (argument checks, server/client split, summary), and the
script end to end with 2 browser sessions on the tiny checkpoint (slow, e2e: needs /usr/bin/chromium)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import live_session as ls  # noqa: E402  (the texts and the browser the benchmarks share)
import load_test as lt  # noqa: E402


def test_session_counts_are_checked():
    assert lt.parse_ns("5,10, 20") == [5, 10, 20]
    for bad in ("0", "x", "", f"{lt.MAX_SESSIONS + 1}"):
        with pytest.raises(Exception, match="--n"):
            lt.parse_ns(bad)


def test_texts_and_probes_are_distinct_per_session_and_round():
    texts = {ls.text_for(i, r) for i in range(lt.MAX_SESSIONS) for r in range(lt.MAX_ROUNDS)}
    assert len(texts) == lt.MAX_SESSIONS * lt.MAX_ROUNDS
    pairs = [(i, r) for i in range(lt.MAX_SESSIONS) for r in range(lt.MAX_ROUNDS)]
    for i, r in pairs:  # a probe is in its own text only: not another session's, not another round's
        assert [p for p in pairs if ls.probe_for(i, r) in ls.text_for(*p)] == [(i, r)]
    assert len(ls.text_for(0, 0).split()) == 50


def test_server_time_is_split_from_browser_time():
    runs = [{"event": "run", "client": "0", "start": 100.5, "end": 100.9, "wall_s": 0.4, "cpu_s": 0.1,
             "outcome": "ok"},
            {"event": "run", "client": "1", "start": 100.6, "end": 101.0, "wall_s": 0.4, "cpu_s": 0.1,
             "outcome": "ok"}]
    sessions = [{"session": 0, "submit": 100_000, "shown": 101_000, "last": 101_500, "idle": 101_200, "error": None}]
    lt.split_times(sessions, runs)
    s = sessions[0]
    assert s["wait_s"] == pytest.approx(0.5) and s["script_s"] == 0.4 and s["script_cpu_s"] == 0.1
    assert s["shown_s"] == pytest.approx(1.0) and s["rendered_s"] == pytest.approx(1.5)
    assert s["after_s"] == pytest.approx(0.6)  # script end 100.9 -> rendered 101.5
    assert s["server_done_s"] == pytest.approx(0.9)  # submit 100.0 -> the server's script done 100.9
    assert s["runs_started"] == 1  # client 1's run is not this session's


def test_summary_counts_errors_and_wrong_answers():
    rounds = [{"barrier_start": 0.0, "wall_s": 10.0, "cpu_server_s": 1.0, "cpu_chromium_s": 2.0,
               "sessions": [{"session": 0, "error": None, "error_boxes": [], "own_result": True, "shown_s": 1.0,
                             "rendered_s": 2.0, "submit": 1},
                            {"session": 1, "error": "TimeoutError: x", "submit": 2},
                            {"session": 2, "error": None, "error_boxes": [], "own_result": False, "shown_s": 3.0,
                             "rendered_s": 4.0, "submit": 3}]}]
    s = lt.summarize(3, rounds, [], [], {"after": 1.0, "peak": 2.0})
    assert s["errors"] == 1 and s["crosstalk_or_wrong"] == 1
    assert s["rendered_s"]["max"] == 4.0 and s["rendered_s"]["n"] == 2
    assert s["submit_spread_ms"] == 2


def test_bad_arguments_give_a_clear_message(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, str(REPO / "benchmarks" / "load_test.py"), *args],
                              capture_output=True, text=True, timeout=120)
    out = run("--models-dir", str(tmp_path / "nope"))
    assert out.returncode == 2 and "is not a folder" in out.stderr
    out = run("--rounds", "0")
    assert out.returncode == 2 and "--rounds must be between" in out.stderr
    (tmp_path / "x.json").write_text("{}")
    out = run("--table", str(tmp_path / "x.json"))
    assert out.returncode == 2 and "not a load_test.py result file" in out.stderr


@pytest.mark.slow
@pytest.mark.e2e
def test_two_sessions_end_to_end(app_models, tmp_path):
    """The benchmark script itself: 2 sessions, 1 round, on the tiny checkpoint; both get their own answer."""
    if not Path(ls.CHROMIUM).exists():
        pytest.skip(f"{ls.CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.async_api")
    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "load_test.py"), "--models-dir",
                           str(app_models["models_dir"]), "--data-dir", str(app_models["data_dir"]), "--n", "2",
                           "--rounds", "1", "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out.read_text())["results"]["2"]["summary"]
    assert summary["errors"] == 0 and summary["crosstalk_or_wrong"] == 0, summary
    assert summary["rendered_s"]["n"] == 2 and summary["script_s"]["n"] == 2  # each matched to its server run
    assert summary["memory_mb"]["peak"] > 0
    assert "shown p50/p95/max" in proc.stdout


def test_dashboard_skips_the_full_gc_after_each_rerun():
    """The measured 60% of a submission's server CPU (benchmarks/LOAD.md) stays off."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
