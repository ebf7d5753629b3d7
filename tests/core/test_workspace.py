import pytest

from core.errors import LoraportError
from core.settings import get_settings
from core.workspace import Workspace


def test_workspace_follows_loraport_home(workspace_home):
    ws = Workspace.from_settings()
    assert ws.home == workspace_home
    assert ws.db_path.parent.exists() and ws.runs_dir.exists()


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", ".hidden", ""])
def test_workspace_refuses_ids_that_leave_it(workspace, bad):
    with pytest.raises(LoraportError):
        workspace.run_dir(bad)


def test_settings_overrides_win_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LORAPORT_PORT", "9001")
    assert get_settings().port == 9001
    assert get_settings(port=9002).port == 9002
