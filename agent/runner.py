"""Run one graph turn on a kept thread and hand the caller its events as the nodes emit them.

Why not LangGraph's ``stream_mode="custom"``: with it, every ``stream()`` builds a thread pool, starts two threads
and runs each node on one of them, about 2 ms of CPU a turn (a third of a guided turn, measured with
bench/agent_turns.py). Here the graph runs in "updates" mode, where LangGraph runs a lone node inline, on a thread
kept for the process; nodes emit through ``AgentContext.emit`` into a queue, so events still stream while a node
runs (the Anthropic brain's text, a slow tool's tool_start).
"""

import functools
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Emit = Callable[[dict[str, Any]], None]
_DONE = object()
TURN_THREADS = 32  # turns running at once in one process; more wait for a thread (the web runs 8 at a time)


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=TURN_THREADS, thread_name_prefix="sidekick-turn")


def stream_turn(run: Callable[[Emit], None]) -> Iterator[dict[str, Any]]:
    """Yield what ``run(emit)`` emits, as it emits it; ``run``'s exception is raised here, after its events.

    A caller that stops early still waits for the turn to end: one turn at a time per thread, as before.
    """
    events: queue.SimpleQueue = queue.SimpleQueue()

    def drive() -> None:
        try:
            run(events.put)
        except BaseException as err:  # handed to the caller's thread, which decides what it means
            events.put(_Failed(err))
        else:
            events.put(_DONE)

    future = _pool().submit(drive)
    try:
        while (item := events.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        future.result()
