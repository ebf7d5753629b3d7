"""The sidekick starts without torch: importing the agent and the CLI entry modules, and a guided chat turn, load
no torch; it loads when a job or a model needs it (training, sampling, evaluating)."""

import json
import subprocess
import sys

HEAVY = ("torch", "diffusers", "peft")

IMPORTS = """
import json, sys
import agent.brains.guided, agent.graph, agent.session, agent.tools, cli.main, tools.evaluate, tools.plan
cli.main.build_app()  # every command module, as `loraport --help` loads them
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""

TURN = """
import json, sys
from agent.session import Sidekick
kick = Sidekick(brain="guided", surface="cli")
replies = [getattr(e, "text", "") for m in sys.argv[1:] for e in kick.send(m)]
print(json.dumps({{"heavy": sorted(m for m in {heavy!r} if m in sys.modules), "replied": any(replies)}}))
"""


def _probe(code: str, *args: str) -> object:
    done = subprocess.run([sys.executable, "-c", code.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_agent_and_cli_entry_modules_loads_no_torch():
    assert _probe(IMPORTS) == []


def test_a_guided_chat_turn_loads_no_torch(workspace_home):
    # the subprocess inherits the test's LORAPORT_HOME, so the turn writes into this test's workspace
    probe = _probe(TURN, "hi", "what does rank mean?", "lower the rank to 16")
    assert probe["replied"] and probe["heavy"] == []
