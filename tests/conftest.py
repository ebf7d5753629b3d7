"""Every test gets its own workspace (LORAPORT_HOME) and a single torch thread (small models run ~20x faster)."""

import pytest


@pytest.fixture(autouse=True)
def workspace_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LORAPORT_HOME", str(home))
    for var in ("ANTHROPIC_API_KEY", "LORAPORT_LLM_PROVIDER", "LORAPORT_TOKEN", "SLACK_SIGNING_SECRET",
                "SLACK_BOT_TOKEN", "DISCORD_PUBLIC_KEY", "DISCORD_BOT_TOKEN", "DISCORD_APP_ID"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(autouse=True, scope="session")
def _single_torch_thread():
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture
def workspace(workspace_home):
    from core.workspace import Workspace

    return Workspace(workspace_home).ensure()
