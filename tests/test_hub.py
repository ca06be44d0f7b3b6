"""Hub checkpoints, offline: load by repo id from a pre-populated HF cache; push through a fake HfApi."""

import pytest
import torch

from ltp import hub
from ltp.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from ltp.errors import CheckpointError
from ltp.export import push_checkpoint
from ltp.model import LTPConfig, build_model

LABELS = ["a", "b", "c"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
IDS = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]])


def save_tiny(path, backbone):
    model = build_model(str(backbone), LABELS, LTPConfig(mode="hard", n_ref=32), seed=5).eval()
    frozen = model.freeze_word_embeddings()
    save_checkpoint(model, path, backbone=str(backbone), label_names=LABELS, max_length=32, stage="hard",
                    frozen=frozen, dataset={"name": "toy"})
    return model


@pytest.fixture()
def offline_cache(tmp_path, monkeypatch):
    """An empty HF cache in tmp_path, the Hub switched off."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


@pytest.fixture()
def cached_repo(offline_cache, tiny_backbone):
    """"owner/tiny-ltp" in the standard cache layout: refs/main -> snapshots/<commit>/ checkpoint."""
    repo = offline_cache / "models--owner--tiny-ltp"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    model = save_tiny(repo / "snapshots" / COMMIT, tiny_backbone)
    return model, repo / "snapshots" / COMMIT


def logits(model):
    with torch.no_grad():
        return model(IDS, torch.ones_like(IDS)).logits


@pytest.mark.parametrize("spec", ["owner/tiny-ltp", "owner/tiny-ltp@main", f"owner/tiny-ltp@{COMMIT}"])
def test_load_by_repo_id_from_the_cache(cached_repo, spec):
    model, snapshot = cached_repo
    assert find_checkpoint(spec) == snapshot
    loaded = load_checkpoint(spec)
    assert torch.equal(logits(loaded.model), logits(model))
    assert loaded.label_names == LABELS and loaded.path == snapshot


@pytest.mark.parametrize("spec,reason", [("owner/not-there", "not in the local Hugging Face cache"),
                                         ("owner/tiny-ltp@no-such-branch", "not in the local Hugging Face cache")])
def test_unreachable_repo_id_is_one_sentence(cached_repo, spec, reason):
    with pytest.raises(CheckpointError, match=reason) as info:
        find_checkpoint(spec)
    message = str(info.value)
    assert "does not exist" in message and "local checkpoint directory" in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no huggingface_hub traceback


def test_a_local_folder_wins_over_a_repo_id(tmp_path, tiny_backbone, monkeypatch):
    save_tiny(tmp_path / "owner" / "tiny-ltp", tiny_backbone)
    monkeypatch.chdir(tmp_path)

    def no_hub(spec):
        raise AssertionError("the Hub was asked for a local folder")

    monkeypatch.setattr("ltp.checkpoint.snapshot_checkpoint", no_hub)
    assert find_checkpoint("owner/tiny-ltp").resolve() == (tmp_path / "owner" / "tiny-ltp").resolve()


@pytest.mark.parametrize("spec,parsed", [
    ("owner/name", ("owner/name", None)), ("o-1/n.2_x@v1.0", ("o-1/n.2_x", "v1.0")),
    ("owner/name@refs/pr/1", ("owner/name", "refs/pr/1")),
    ("/abs/path", None), ("a/b/c", None), ("./x", None), ("name", None), ("owner/name/", None),
    ("owner/..", None), ("", None),
])
def test_repo_id_form(spec, parsed):
    assert hub.parse_repo_id(spec) == parsed


class FakeHfApi:
    """Records what would be sent to the Hub; never touches the network."""

    calls: list = []

    def __init__(self, token=None):
        self.calls.append(("init", token))

    def create_repo(self, repo_id, private=None, exist_ok=False, repo_type=None, **kw):
        self.calls.append(("create_repo", repo_id, private, exist_ok, repo_type))
        return f"https://huggingface.co/{repo_id}"

    def create_branch(self, repo_id, branch, exist_ok=False, repo_type=None, **kw):
        self.calls.append(("create_branch", repo_id, branch, exist_ok))

    def upload_folder(self, repo_id, folder_path, revision=None, ignore_patterns=None, **kw):
        from pathlib import Path

        files = sorted(p.name for p in Path(folder_path).iterdir())
        self.calls.append(("upload_folder", repo_id, folder_path, revision, files, ignore_patterns))
        return "https://huggingface.co/commit"


@pytest.fixture()
def fake_api(monkeypatch):
    import huggingface_hub

    FakeHfApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHfApi)
    return FakeHfApi.calls


def test_push_uploads_the_checkpoint_folder(tmp_path, tiny_backbone, fake_api):
    save_tiny(tmp_path / "run" / "hard", tiny_backbone)
    url = push_checkpoint(tmp_path / "run", "me/tiny-ltp", private=True, token="hf_x")
    assert url == "https://huggingface.co/me/tiny-ltp"
    assert fake_api[0] == ("init", "hf_x")
    assert fake_api[1] == ("create_repo", "me/tiny-ltp", True, True, "model")
    kind, repo, folder, revision, files, ignored = fake_api[2]
    assert (kind, repo, revision) == ("upload_folder", "me/tiny-ltp", None)
    assert folder == str(tmp_path / "run" / "hard")  # a run dir pushes its latest stage
    assert files == ["README.md", "config.json", "model.safetensors"] and ".*" in ignored


def test_push_to_a_branch(tmp_path, tiny_backbone, fake_api):
    save_tiny(tmp_path / "ck", tiny_backbone)
    url = push_checkpoint(tmp_path / "ck", "me/tiny-ltp", revision="v2")
    assert url == "https://huggingface.co/me/tiny-ltp/tree/v2"
    assert ("create_branch", "me/tiny-ltp", "v2", True) in fake_api
    assert fake_api[-1][3] == "v2"


def test_push_refuses_what_is_not_a_complete_checkpoint(tmp_path, tiny_backbone, fake_api):
    (tmp_path / "plain").mkdir()
    with pytest.raises(CheckpointError, match="not an ltp-lens checkpoint"):
        push_checkpoint(tmp_path / "plain", "me/x")
    save_tiny(tmp_path / "ck", tiny_backbone)
    (tmp_path / "ck" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        push_checkpoint(tmp_path / "ck", "me/x")
    with pytest.raises(CheckpointError, match="not a local folder"):
        push_checkpoint("someone/else", "me/x")  # a repo id is never downloaded to be pushed
    with pytest.raises(CheckpointError, match="not a Hub repo id"):
        save_tiny(tmp_path / "ok", tiny_backbone)
        push_checkpoint(tmp_path / "ok", "not a repo")
    assert fake_api == []  # nothing reached the (fake) Hub
