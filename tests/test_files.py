"""The one atomic write: a failed write leaves the old content whole and no temp files."""

import json

import pytest

from ltp.files import atomic_dir, merge_json, write_atomic, write_json_atomic


def _boom(*_):
    raise OSError("disk full")


def test_write_atomic_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    write_json_atomic(target, {"v": 1})
    with pytest.raises(OSError):
        write_atomic(target, _boom)
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_merge_json_adds_a_key_and_repairs_a_damaged_file(tmp_path):
    target = tmp_path / "m.json"
    target.write_text("{not json")
    assert merge_json(target, "test/hard", {"acc": 0.9}) == {"test/hard": {"acc": 0.9}}
    assert merge_json(target, "test/none", 1) == {"test/hard": {"acc": 0.9}, "test/none": 1}


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_dir(target) as tmp:
        (tmp / "x").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "x").write_text("new")
            raise RuntimeError("killed mid-save")
    assert (target / "x").read_text() == "old"
    with atomic_dir(target) as tmp:
        (tmp / "y").write_text("new")
    assert [p.name for p in target.iterdir()] == ["y"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_resume_state_survives_a_failed_save(tmp_path, monkeypatch):
    """Training's resume state used to be deleted before its replacement was renamed in."""
    import torch

    from ltp.train import resume

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    monkeypatch.setattr(resume, "trained_state", lambda m, frozen: m.state_dict())
    path = tmp_path / ".resume-soft"
    resume.save_resume(path, model, opt, sched, {"step": 1}, [])
    monkeypatch.setattr(resume, "save_file", _boom)
    with pytest.raises(OSError):
        resume.save_resume(path, model, opt, sched, {"step": 2}, [])
    assert json.loads((path / "state.json").read_text())["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".resume-soft"]
