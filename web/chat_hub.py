"""Chat rooms: every websocket watching a thread, the agent turns run for it, and its jobs' live events.

Why a hub and not a loop per socket: an agent turn and a training job belong to the thread, not to the tab that
asked. A turn runs as its own task and broadcasts to every tab on the thread, so a tab that closes mid-stream stops
nothing, a second tab sees the same events, and a tab that reconnects gets the thread's history (from the agent)
and its jobs' events so far (from the trainer's store), then the live ones.

Frames sent are the agent's event objects as JSON, plus what the web surface adds: a user's message is echoed to
every tab as ``{"type": "text", "role": "user", "text", "uploads"}`` (the shape ``history()`` replays it in),
``{"type": "replay_end"}`` says history is complete, replayed frames carry ``"replay": true``, and ``job_event``
frames carry ``event_id`` (the trainer's event id) so a tab never draws the same loss point twice.
"""

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.errors import LoraportError
from core.workspace import Workspace
from web import jobfeed

log = logging.getLogger(__name__)
POLL_S = 0.5  # how often running jobs are read for new events
QUEUE_MAX = 5000  # frames waiting for one slow tab before it is dropped
SIDEKICKS_KEPT = 128  # threads whose Sidekick stays built between turns


def to_frame(event: Any) -> dict:
    """An AgentEvent (pydantic model, dataclass or dict) as a JSON-ready dict."""
    if hasattr(event, "model_dump"):
        return event.model_dump(mode="json")
    if isinstance(event, dict):
        return dict(event)
    if hasattr(event, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(event)
    raise TypeError(f"unexpected agent event {type(event).__name__}")


def _event_id(frame: dict) -> int | None:
    """The trainer's id of a job event: ours carry ``event_id``; the agent's carry the row's ``id`` inside."""
    value = frame.get("event_id", (frame.get("event") or {}).get("id"))
    return int(value) if isinstance(value, int | float | str) and str(value).isdigit() else None


class Conn:
    """One websocket: frames go through its own queue, so a slow tab never holds up the others."""

    def __init__(self, websocket):
        self.ws = websocket
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_MAX)
        self.seen: dict[str, int] = {}  # job id -> last event id sent to this tab
        self.closed = False

    def offer(self, frame: dict | None) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("dropping a websocket that fell %d frames behind", QUEUE_MAX)
            self.closed = True

    async def pump(self) -> None:
        while not self.closed:
            frame = await self.queue.get()
            if frame is None:
                return
            if self.closed:  # dropped for falling behind: close the socket, so the page reconnects and replays
                break
            if frame.get("type") == "job_event" and _event_id(frame) is not None:
                job, event_id = frame["event"].get("job_id", ""), _event_id(frame)
                if event_id <= self.seen.get(job, 0):
                    continue
                self.seen[job] = event_id
            try:
                await self.ws.send_json(frame)
            except Exception:  # the tab went away; the room forgets it on leave
                self.closed = True
                return
        try:  # a tab that stopped reading would otherwise stay open and hear nothing more
            await self.ws.close(code=1013, reason="fell behind; reconnect to catch up")
        except Exception:
            pass


class Room:
    def __init__(self):
        self.conns: set[Conn] = set()
        self.turn_lock = asyncio.Lock()  # one agent turn at a time per thread, in the order they were sent
        self.feed_lock = asyncio.Lock()  # a joining tab's job replay and the live feed never interleave
        self.cursors: dict[str, int] = {}  # job id -> last event id broadcast
        self.done_jobs: set[str] = set()
        self.turns = 0  # turns running or waiting
        self.joining = 0  # tabs waiting to join (for the running turn to end): the room must outlive that turn


class ChatHub:
    def __init__(self, workspace: Workspace, sidekick_factory: Callable | None = None, workers: int = 8):
        self.workspace = workspace
        self.sidekick_factory = sidekick_factory or _default_sidekick
        self._sidekicks: OrderedDict[str, Any] = OrderedDict()  # thread id -> Sidekick, most recent last
        self._sidekicks_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agent")
        self.rooms: dict[str, Room] = {}
        self._tasks: set[asyncio.Task] = set()
        self._poller: asyncio.Task | None = None

    # --- tabs -----------------------------------------------------------------------------------------------
    async def join(self, thread_id: str, conn: Conn) -> None:
        """Replay the thread's history and its jobs' events to ``conn``, then add it to the live broadcast."""
        room = self.rooms.setdefault(thread_id, Room())
        room.joining += 1
        try:
            async with room.turn_lock:  # history is complete only between turns
                history = await self._in_thread(self._history, thread_id)
                for frame in history:
                    if frame.get("type") != "job_event":  # the trainer's store is the full record of job events
                        conn.offer({**frame, "replay": True})
                async with room.feed_lock:
                    replay = await self._in_thread(self._job_frames, {thread_id: ({}, set())})
                    for frame in replay.get(thread_id, []):
                        conn.offer({**frame, "replay": True})
                    conn.offer({"type": "replay_end", "thread": thread_id})
                    room.conns.add(conn)
        finally:
            room.joining -= 1
            self._forget_if_idle(thread_id, room)  # a tab that left while it waited
        self._ensure_poller()

    def leave(self, thread_id: str, conn: Conn) -> None:
        room = self.rooms.get(thread_id)
        conn.offer(None)
        if room is None:
            return
        room.conns.discard(conn)
        self._forget_if_idle(thread_id, room)

    def broadcast(self, thread_id: str, frame: dict) -> None:
        room = self.rooms.get(thread_id)
        for conn in list(room.conns if room else ()):
            conn.offer(frame)

    # --- agent turns ----------------------------------------------------------------------------------------
    def submit(self, thread_id: str, method: str, *args: Any) -> asyncio.Task:
        """Run ``Sidekick.<method>(*args)`` as a task of the thread, not of the tab: closing the tab stops nothing."""
        room = self.rooms.setdefault(thread_id, Room())
        room.turns += 1
        task = asyncio.create_task(self._turn(thread_id, room, method, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _turn(self, thread_id: str, room: Room, method: str, args: tuple) -> None:
        loop = asyncio.get_running_loop()
        frames: asyncio.Queue = asyncio.Queue()

        def work() -> None:  # runs in the executor: the Sidekick is synchronous
            try:
                sidekick = self._sidekick(thread_id)
                for event in getattr(sidekick, method)(*args):
                    loop.call_soon_threadsafe(frames.put_nowait, to_frame(event))
            except LoraportError as err:
                loop.call_soon_threadsafe(frames.put_nowait, {"type": "error", "message": err.message})
            except Exception as err:
                log.exception("agent turn failed on thread %s", thread_id)
                message = f"The sidekick hit an internal error ({err.__class__.__name__}); the log has details."
                loop.call_soon_threadsafe(frames.put_nowait, {"type": "error", "message": message})
            finally:
                loop.call_soon_threadsafe(frames.put_nowait, None)

        try:
            async with room.turn_lock:
                future = loop.run_in_executor(self._executor, work)
                while (frame := await frames.get()) is not None:
                    self.broadcast(thread_id, frame)
                await future
        finally:
            room.turns -= 1
            self._forget_if_idle(thread_id, room)
            self._ensure_poller()

    def _forget_if_idle(self, thread_id: str, room: Room) -> None:
        if not room.conns and room.turns == 0 and room.joining == 0 and self.rooms.get(thread_id) is room:
            del self.rooms[thread_id]

    # --- job events -----------------------------------------------------------------------------------------
    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll_forever())

    async def _poll_forever(self) -> None:
        """Every POLL_S, one read of the store for all watched threads (not one per tab: 100 tabs cost one query)."""
        while self.rooms:
            await asyncio.sleep(POLL_S)
            rooms = {thread_id: room for thread_id, room in self.rooms.items() if room.conns}
            if not rooms:
                continue
            for room in rooms.values():
                await room.feed_lock.acquire()
            try:
                watched = {thread_id: (room.cursors, room.done_jobs) for thread_id, room in rooms.items()}
                frames = await self._in_thread(self._job_frames, watched)
            except Exception:
                log.exception("reading job events failed")
                frames = {}
            finally:
                for room in rooms.values():
                    room.feed_lock.release()
            for thread_id, batch in frames.items():
                for frame in batch:
                    self.broadcast(thread_id, frame)

    def _job_frames(self, watched: dict[str, tuple[dict[str, int], set[str]]]) -> dict[str, list[dict]]:
        with jobfeed.open_feed(self.workspace) as feed:
            return feed.frames_by_thread(watched)

    def _history(self, thread_id: str) -> list[dict]:
        return [to_frame(event) for event in self._sidekick(thread_id).history()]

    def _sidekick(self, thread_id: str):
        """A Sidekick per thread, kept for the next turn (building one opens a checkpointer and compiles the graph,
        ~20 ms, so it is built outside the lock). The thread's turn lock means one turn at a time uses it."""
        with self._sidekicks_lock:
            sidekick = self._sidekicks.get(thread_id)
            if sidekick is not None:
                self._sidekicks.move_to_end(thread_id)
                return sidekick
        sidekick = self.sidekick_factory(self.workspace, thread_id)
        with self._sidekicks_lock:
            sidekick = self._sidekicks.setdefault(thread_id, sidekick)
            while len(self._sidekicks) > SIDEKICKS_KEPT:
                self._sidekicks.popitem(last=False)  # not closed: a turn may still hold it; GC closes it after
        return sidekick

    async def _in_thread(self, fn: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        for task in [*self._tasks, *([self._poller] if self._poller else [])]:
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _default_sidekick(workspace: Workspace, thread_id: str):
    from agent.session import Sidekick

    return Sidekick(workspace, thread_id)

