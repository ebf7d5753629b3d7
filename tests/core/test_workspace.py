import pytest

from core.errors import LoraportError
from core.settings import get_settings
from core.workspace import Workspace


def test_workspace_follows_loraport_home(workspace_home):
    ws = Workspace.from_settings()
    assert ws.home == workspace_home
    assert ws.db_path.parent.exists() and ws.runs_dir.exists()


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", ".hidden", "", "a\\b", "job\x00id", "tab\tid", "new\nline",
                                 "x" * 201, "é" * 101, "\u202eevil"])
def test_workspace_refuses_ids_that_leave_it_or_no_file_system_takes(workspace, bad):
    for make in (workspace.run_dir, workspace.dataset_dir, workspace.cache_dir):
        with pytest.raises(LoraportError, match="not a valid id"):
            make(bad)
    assert sorted(p.name for p in workspace.home.iterdir()) == ["cache", "datasets", "runs", "uploads"]


@pytest.mark.parametrize("good", ["train-20261130-151742-c9eaee", "tiny-ltx-2.3", "my-clips-a1b2c3", "x" * 200,
                                  "猫の動画-1a2b3c"])
def test_workspace_takes_the_ids_loraport_makes(workspace, good):
    assert workspace.run_dir(good).name == good
    workspace.run_dir(good).mkdir()


def test_settings_overrides_win_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LORAPORT_PORT", "9001")
    assert get_settings().port == 9001
    assert get_settings(port=9002).port == 9002
