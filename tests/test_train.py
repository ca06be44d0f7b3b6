"""The three-stage procedure on a tiny model and tiny data: stages, resume, reproducibility."""

import json
from dataclasses import replace

import pytest
import torch

from ltp import train as train_mod
from ltp.train import loop, resume
from ltp.checkpoint import load_checkpoint
from ltp.train import LengthGroupedBatches, TrainConfig, train


def cfg(tmp_path, backbone, data_dir, **kw):
    base = dict(dataset="toy", out=str(tmp_path / "run"), backbone=str(backbone), data_dir=str(data_dir),
                max_length=24, batch_size=8, val_examples=6, final_threshold=0.05, seed=7)
    return TrainConfig(**{**base, **kw})


def read_log(run):
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


def test_all_stages_end_to_end(tmp_path, tiny_backbone, toy_data_dir):
    final = train(cfg(tmp_path, tiny_backbone, toy_data_dir), show_progress=False)
    run = tmp_path / "run"
    assert final == run / "hard"
    for stage, mode in (("baseline", "none"), ("soft", "soft"), ("hard", "hard")):
        ck = load_checkpoint(run / stage)
        assert ck.model.mode == mode
        assert ck.config["stage"] == stage
        assert (run / stage / "train_log.jsonl").is_file()
    log = read_log(run)
    epochs = [r for r in log if "val_accuracy" in r]
    assert [r["stage"] for r in epochs] == ["baseline", "soft", "hard"]
    assert all(0 <= r["kept"] <= 1 for r in epochs)
    soft = load_checkpoint(run / "soft").model
    base = load_checkpoint(run / "baseline").model
    # the optimiser of the thresholds: clamped at >= 0, temperature annealed over the soft stage (to T/4)
    assert (soft.thresholds() >= -1e-7).all()
    soft_log = [r for r in log if r.get("stage") == "soft" and "temperature" in r][-1]
    assert soft_log["temperature"] == pytest.approx(0.128 / 24 / 4, rel=0.05)
    assert load_checkpoint(run / "soft").config["training"]["config"]["threshold_lr"] is None  # 1% of 1/n_ref
    assert base.threshold_offsets.abs().sum() == 0
    hard = load_checkpoint(run / "hard").model
    assert torch.equal(hard.threshold_offsets, soft.threshold_offsets)  # and frozen in the hard stage
    card = (run / "hard" / "README.md").read_text()
    assert "Stage soft" in card and "toy" in card
    assert not any(p.name.startswith(".resume") for p in run.iterdir())


def test_each_stage_runs_alone_from_previous(tmp_path, tiny_backbone, toy_data_dir):
    train(cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("baseline",)), show_progress=False)
    assert not (tmp_path / "run" / "soft").exists()
    train(cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("soft",)), show_progress=False)
    assert load_checkpoint(tmp_path / "run" / "soft").model.mode == "soft"
    train(cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("hard",)), show_progress=False)
    assert load_checkpoint(tmp_path / "run").model.mode == "hard"
    # rerunning skips finished stages
    train(cfg(tmp_path, tiny_backbone, toy_data_dir), show_progress=False)
    events = [r.get("event") for r in read_log(tmp_path / "run")]
    assert events.count("skipped (already finished)") == 3


def test_stage_without_previous_checkpoint_is_explained(tmp_path, tiny_backbone, toy_data_dir):
    with pytest.raises(ValueError, match="previous stage"):
        train(cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("soft",)), show_progress=False)


def test_resume_after_interrupt(tmp_path, tiny_backbone, toy_data_dir, monkeypatch):
    c = cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("baseline",), epochs=2)
    calls = {"n": 0}
    real_step = torch.optim.AdamW.step

    def flaky_step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 10:  # second epoch, mid-way
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", flaky_step)
    with pytest.raises(KeyboardInterrupt):
        train(c, show_progress=False)
    run = tmp_path / "run"
    assert not (run / "baseline").exists()  # nothing that looks finished
    state = json.loads((run / ".resume-baseline" / "state.json").read_text())
    # 54 train rows / batch 8 = 7 steps per epoch: call 10 is the 3rd batch of epoch 2
    assert (state["epoch"], state["step"]) == (1, 2)
    monkeypatch.setattr(torch.optim.AdamW, "step", real_step)
    # a rerun with other settings must not continue this state (it would mix two trainings)
    with pytest.raises(RuntimeError, match=r"other settings \(max_train_examples None -> 40.*delete that directory"):
        train(replace(c, max_train_examples=40), show_progress=False)
    assert (run / ".resume-baseline" / "state.json").is_file()
    train(c, show_progress=False)
    events = [r.get("event") for r in read_log(run)]
    assert "interrupted" in events and "resumed" in events
    assert load_checkpoint(run / "baseline").model.mode == "none"
    assert not (run / ".resume-baseline").exists()


def test_same_seed_same_weights(tmp_path, tiny_backbone, toy_data_dir):
    a = train(cfg(tmp_path / "a", tiny_backbone, toy_data_dir, stages=("baseline",)), show_progress=False)
    b = train(cfg(tmp_path / "b", tiny_backbone, toy_data_dir, stages=("baseline",)), show_progress=False)
    sa = load_checkpoint(a).model.state_dict()
    sb = load_checkpoint(b).model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_max_train_examples_and_validation_holdout(tmp_path, tiny_backbone, toy_data_dir):
    from ltp.backbones import load_tokenizer

    c = cfg(tmp_path, tiny_backbone, toy_data_dir, max_train_examples=9)
    d = train_mod.load_train_data(c, load_tokenizer(c.backbone))
    assert len(d.ids) == 9 and len(d.val_ids) == 6
    assert sorted(set(d.labels.tolist())) == [0, 1, 2]  # stratified


def test_length_grouped_batches_cover_everything_once():
    lengths = [5, 50, 7, 49, 8, 48, 6, 47, 9, 46] * 7
    s = LengthGroupedBatches(lengths, batch_size=4, seed=0)
    batches = s.batches(0)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    assert s.batches(0) == batches and s.batches(1) != batches  # deterministic per epoch
    s.skip = 3
    assert list(s) == batches[3:] and len(s) == len(batches) - 3


def test_invalid_settings_say_how_to_fix(tmp_path):
    with pytest.raises(ValueError, match="Unknown stage"):
        TrainConfig(dataset="toy", out=str(tmp_path), stages=("baseline", "medium"))
    with pytest.raises(ValueError, match="order"):
        TrainConfig(dataset="toy", out=str(tmp_path), stages=("hard", "soft"))
    with pytest.raises(ValueError, match="max-length"):
        TrainConfig(dataset="toy", out=str(tmp_path), max_length=2)


def test_progress_is_saved_mid_epoch(tmp_path, tiny_backbone, toy_data_dir, monkeypatch):
    """A kill -9 loses at most SAVE_EVERY_S of work: the resume state is written mid-epoch."""
    monkeypatch.setattr(loop, "SAVE_EVERY_S", 0.0)
    c = cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("baseline",))
    saved = []
    real = resume.save_resume

    def spy(path, model, optimizer, scheduler, info, frozen):
        saved.append((info["epoch"], info["step"]))
        return real(path, model, optimizer, scheduler, info, frozen)

    monkeypatch.setattr(resume, "save_resume", spy)
    train(c, show_progress=False)
    assert saved[:3] == [(0, 1), (0, 2), (0, 3)]  # after every step, as the interval is 0
    events = [r.get("event") for r in read_log(tmp_path / "run")]
    assert events.count("progress saved") == len(saved)
    assert not (tmp_path / "run" / ".resume-baseline").exists()  # cleaned once the stage is saved


def test_hard_stage_needs_a_soft_checkpoint(tmp_path, tiny_backbone, toy_data_dir):
    train(cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("baseline",)), show_progress=False)
    with pytest.raises(ValueError, match="soft-stage checkpoint"):
        train(cfg(tmp_path / "b", tiny_backbone, toy_data_dir, stages=("hard",),
                  init=str(tmp_path / "run" / "baseline")), show_progress=False)


def test_max_length_beyond_positions_is_explained(tmp_path, tiny_backbone, toy_data_dir):
    with pytest.raises(ValueError, match="max_position_embeddings=160"):
        train(cfg(tmp_path, tiny_backbone, toy_data_dir, stages=("baseline",), max_length=400), show_progress=False)


def test_resume_state_layout_is_fixed(tmp_path, monkeypatch):
    """A run in progress resumes from this layout: file names, tensor keys and state.json keys."""
    from safetensors.torch import load_file

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    sched.step()
    monkeypatch.setattr(resume, "trained_state", lambda m, frozen: m.state_dict())
    path = tmp_path / ".resume-soft"
    resume.save_resume(path, model, opt, sched, {"stage": "soft", "epoch": 0, "step": 1}, [])
    assert sorted(p.name for p in path.iterdir()) == ["model.safetensors", "optimizer.safetensors", "state.json"]
    assert sorted(load_file(str(path / "optimizer.safetensors"))) == ["0/exp_avg", "0/exp_avg_sq", "0/step",
                                                                       "1/exp_avg", "1/exp_avg_sq", "1/step"]
    info = json.loads((path / "state.json").read_text())
    assert {"stage", "epoch", "step", "optimizer", "scheduler", "torch_rng"} <= set(info)
    fresh = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(fresh.parameters())
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 1.0)
    assert resume.load_resume(path, fresh, opt2, sched2)["step"] == 1
    assert torch.equal(fresh.weight, model.weight)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
