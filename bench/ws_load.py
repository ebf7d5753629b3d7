"""Websocket load: 100 concurrent chat sessions on loopback driving the guided brain.

The server runs as its own process (`run_server(..., worker=False)` on a fresh temp workspace), so the client's
work does not share the server's interpreter. Each session connects, waits for its (empty) history replay, then
sends messages that start no job ("help", "what does rank do?", ...), one at a time with a think time, like a
person typing. Reply latency = message sent -> the turn's `turn_end` frame (the whole reply has arrived).
A message is lost when its reply text or its turn_end does not arrive within the timeout.

A second phase sends one message from every session at the same instant (a burst) and reports it separately:
that measures queueing in the agent, not a realistic load.

`--echo` swaps the agent for an instant one, to separate the web layer's own cost from the agent's.

Target: p99 under 250 ms, none lost.  Usage: python -m bench.ws_load [--sessions 100] [--messages 5] [--echo]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python bench/ws_load.py` puts bench/ first on sys.path, where bench/inspect.py would shadow the stdlib's inspect.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
import websockets  # noqa: E402
MESSAGES = ["help", "what does rank do?", "what is the learning rate for?", "explain steps", "what can you do?"]
TIMEOUT_S = 30.0


class EchoSidekick:
    """``--echo``: a Sidekick that answers at once, to measure the web layer alone (hub, websocket, JSON)."""

    def __init__(self, workspace, thread_id):
        pass

    def send(self, text, uploads=None):
        from agent.events import TextEvent, TurnEnd

        return iter([TextEvent(text=f"echo: {text}"), TurnEnd()])

    def history(self):
        return []


def start_server(home: str, port: int, echo: bool) -> subprocess.Popen:
    if echo:
        code = ("import uvicorn; from core.settings import get_settings; from web.app import create_app; "
                "from bench.ws_load import EchoSidekick; "
                f"uvicorn.run(create_app(get_settings(), sidekick_factory=EchoSidekick), port={port}, "
                "log_level='warning')")
    else:
        code = ("from core.settings import get_settings; from web.server import run_server; "
                f"run_server(get_settings(port={port}), worker=False)")
    env = {**os.environ, "LORAPORT_HOME": home, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("ANTHROPIC_API_KEY", None)  # the guided brain: deterministic, no network
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


async def one_turn(ws, text: str) -> float | None:
    """Send one message; the seconds until its turn_end, or None if the reply got lost."""
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "message", "text": text}))
    replied = False
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
            if frame["type"] == "text" and frame.get("role") != "user":
                replied = True
            if frame["type"] == "turn_end":
                return time.perf_counter() - start if replied else None
    except (asyncio.TimeoutError, websockets.ConnectionClosed):
        return None


async def session(url: str, n: int, think: tuple[float, float], gate: asyncio.Event, results: dict) -> None:
    rng = random.Random(n)
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        while json.loads(await ws.recv())["type"] != "replay_end":
            pass
        results["connected"] += 1
        await gate.wait()  # every session is connected before the first message goes out
        for i in range(results["messages"]):
            await asyncio.sleep(rng.uniform(*think))
            results["paced"].append(await one_turn(ws, MESSAGES[(n + i) % len(MESSAGES)]))
        await results["burst_gate"].wait()
        results["burst"].append(await one_turn(ws, "help"))


async def run(port: int, sessions: int, messages: int, server_pid: int) -> dict:
    results = {"messages": messages, "paced": [], "burst": [], "burst_gate": asyncio.Event(), "connected": 0}
    gate = asyncio.Event()
    url = f"ws://127.0.0.1:{port}/ws/chat"
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(session(f"{url}/bench-{n}", n, (0.5, 1.5), gate, results)) for n in range(sessions)]
    while results["connected"] < sessions and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    results["connect_s"] = time.perf_counter() - t0
    results["cpu_connected"] = cpu_seconds(server_pid)  # connects (a Sidekick and a replay each) end here
    gate.set()
    while len(results["paced"]) < sessions * messages and not any(t.done() and t.exception() for t in tasks):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    results["burst_gate"].set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return results


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report server cost per turn independent of load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, values: list[float | None]) -> None:
    ok = sorted(v * 1000 for v in values if v is not None)
    lost = sum(v is None for v in values)
    if not ok:
        print(f"{name}: no replies, {lost} lost")
        return
    q = statistics.quantiles(ok, n=100, method="inclusive")
    print(f"{name}: {len(values)} turns  p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  "
          f"max {ok[-1]:.1f} ms  lost {lost}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--messages", type=int, default=5, help="paced messages per session")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--echo", action="store_true", help="an instant sidekick: the web layer's own latency")
    args = parser.parse_args()
    from web.server import free_port

    port = args.port or free_port()
    with tempfile.TemporaryDirectory() as home:
        server = start_server(home, port, args.echo)
        try:
            cpu0 = cpu_seconds(server.pid)
            results = asyncio.run(run(port, args.sessions, args.messages, server.pid))
            cpu_turns = cpu_seconds(server.pid) - results["cpu_connected"]
            cpu_connects = results["cpu_connected"] - cpu0
        finally:
            server.terminate()
            server.wait(timeout=30)
    brain = "echo sidekick (web layer only)" if args.echo else "guided brain"
    print(f"ws_load: {args.sessions} concurrent sessions on loopback, {brain}, "
          f"{args.messages} paced messages each (think time 0.5-1.5 s); all connected in {results['connect_s']:.2f} s")
    summary("paced reply latency", results["paced"])
    summary("burst (all sessions at once)", results["burst"])
    turns = len(results["paced"]) + len(results["burst"])
    print(f"server CPU: {cpu_connects:.2f} s for {args.sessions} connects "
          f"({cpu_connects * 1000 / max(args.sessions, 1):.1f} ms each), {cpu_turns:.2f} s for {turns} turns "
          f"({cpu_turns * 1000 / max(turns, 1):.1f} ms per turn); machine load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    paced = [v for v in results["paced"] if v is not None]
    p99 = statistics.quantiles([v * 1000 for v in paced], n=100, method="inclusive")[98] if len(paced) > 1 else None
    lost = sum(v is None for v in results["paced"])
    verdict = "MET" if p99 is not None and p99 < 250 and lost == 0 else "NOT MET"
    print(f"target p99 < 250 ms and none lost (paced): {verdict}")


if __name__ == "__main__":
    main()
