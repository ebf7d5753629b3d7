"""Bot threads on the chat hub: the hub runs the agent's turns and polls the thread's jobs; the relay posts.

A bot thread joins the hub like a browser tab does (``hub.join``), through a ``Conn`` whose "socket" is a
``Listener``: every frame the hub broadcasts on the thread (the turn's events, then its jobs' events from the
trainer's store) reaches ``Listener.send_json`` in order, becomes milestones, and the platform's sink posts them.
So a Slack thread, a Discord channel and a browser tab on the same thread see the same turns and jobs.

The listener stays while a turn runs or one of the thread's jobs is not finished, then leaves (the hub stops
polling a thread nobody watches). Frames carry the user whose turn produced them (``by``), so an approval request
is recorded with its requester before its buttons are posted.
"""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from agent import words
from core.errors import LoraportError
from core.settings import Settings
from core.store import open_db
from core.workspace import Workspace
from web.bots import security
from web.bots.milestones import TERMINAL, JobInfo, Milestones, Post
from web.chat_hub import ChatHub, Conn

log = logging.getLogger(__name__)
MARK = "bot_posted_mark"


class Sink(Protocol):
    platform: str

    async def post(self, post: Post) -> None: ...


class BotConn(Conn):
    def __init__(self, listener: "Listener"):
        super().__init__(listener)
        self.listener = listener

    def offer(self, frame: dict | None) -> None:
        if frame is not None:  # tag with the user whose turn is running now (None between bot turns)
            frame = {**frame, "by": self.listener.turn_user}
        super().offer(frame)


class Listener:
    def __init__(self, relay: "Relay", thread_id: str, sink: Sink):
        self.relay, self.thread_id, self.sink = relay, thread_id, sink
        self.turn_user: str | None = None
        self.turns = 0  # bot turns submitted and not yet done
        self.closed = False
        self.lock = asyncio.Lock()  # one bot turn at a time, so each frame's ``by`` is that turn's user
        self.milestones = Milestones(relay.job_info)
        self.conn = BotConn(self)
        self.ready: asyncio.Task | None = None

    async def posted(self, timeout_s: float = 120.0) -> None:
        """Wait until every frame offered so far has been posted (a marker travels through the same queue)."""
        mark = asyncio.get_running_loop().create_future()
        self.conn.offer({"type": MARK, "done": mark})
        await asyncio.wait([mark], timeout=timeout_s)  # a dropped connection never resolves it: do not hang

    async def send_json(self, frame: dict) -> None:
        """Called by the hub connection's pump, in broadcast order."""
        if frame.get("type") == MARK:
            if not frame["done"].done():
                frame["done"].set_result(None)
            return
        try:
            if frame.get("type") == "approval_request" and not frame.get("replay"):
                await asyncio.to_thread(self.relay.record_approval, frame, self.thread_id, self.sink.platform)
            for post in await asyncio.to_thread(self.milestones.feed, frame):
                await self.sink.post(post)
        except Exception:  # a platform hiccup must not stop the thread's later milestones
            log.exception("posting to %s thread %s failed", self.sink.platform, self.thread_id)
        event = frame.get("event") or {}
        if frame.get("type") == "turn_end" or (frame.get("type") == "job_event" and event.get("type") in TERMINAL):
            await self.relay.maybe_detach(self)


class Relay:
    def __init__(self, hub: ChatHub, workspace: Workspace, settings: Settings):
        self.hub, self.workspace, self.settings = hub, workspace, settings
        self.listeners: dict[str, Listener] = {}
        self.tasks: set[asyncio.Task] = set()
        self.clean = security.Scrubber(settings, workspace)  # every text a bot posts passes through it

    def spawn(self, coro) -> asyncio.Task:
        """Work done after the platform got its answer (Slack and Discord want one within 3 s)."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- turns ----------------------------------------------------------------------------------------------
    async def turn(self, thread_id: str, sink: Sink, user: str, method: str, *args: Any) -> None:
        """Run ``Sidekick.<method>(*args)`` on the thread through the hub; its milestones go to ``sink``."""
        listener = self.listeners.get(thread_id)
        if listener is None or listener.closed:
            listener = self.listeners[thread_id] = Listener(self, thread_id, sink)
            listener.ready = asyncio.create_task(self.hub.join(thread_id, listener.conn))
            self.spawn(listener.conn.pump())
        listener.sink = sink  # the newest place to answer (Discord: the newest interaction token)
        listener.turns += 1
        try:
            await listener.ready
            async with listener.lock:
                listener.turn_user = user
                try:
                    await self.hub.submit(thread_id, method, *args)
                finally:
                    listener.turn_user = None
                await listener.posted()  # the turn's messages are out before the next turn (or the caller) goes on
        finally:
            listener.turns -= 1
        await self.maybe_detach(listener)

    async def maybe_detach(self, listener: Listener) -> None:
        if listener.turns or listener.closed:
            return
        active = await asyncio.to_thread(self._has_active_jobs, listener.thread_id)
        if listener.turns or listener.closed or active:  # re-checked after the await: a turn may have begun
            return
        listener.closed = True
        if self.listeners.get(listener.thread_id) is listener:
            del self.listeners[listener.thread_id]
        self.hub.leave(listener.thread_id, listener.conn)

    def _has_active_jobs(self, thread_id: str) -> bool:
        from trainer import jobs as jobstore

        db = open_db(self.workspace)
        try:
            return any(not job.is_terminal for job in jobstore.list_jobs(db, limit=500, thread_id=thread_id))
        finally:
            db.close()

    async def admit(self, platform: str, verify: Callable[[], str]) -> bool:
        """Every bot request's first step: ``verify()`` checks the raw bytes (signature, timestamp) and returns the
        signature, and a signature seen before is a replay. False (logged why): answer 401 and run nothing."""
        try:
            signature = verify()
            if not await self.first_time(f"{platform}-sig:{signature}"):
                raise security.Refused("replayed request")
        except security.Refused as why:
            log.warning("%s request refused: %s", platform, why)
            return False
        return True

    async def first_time(self, key: str) -> bool:
        """False for a request (signature, event id) seen before: a replay or a platform retry."""
        return await asyncio.to_thread(self._first_time, key)

    def _first_time(self, key: str) -> bool:
        db = open_db(self.workspace)
        try:
            return security.first_time(db, key)
        finally:
            db.close()

    # -- approvals --------------------------------------------------------------------------------------------
    def record_approval(self, frame: dict, thread_id: str, platform: str) -> None:
        db = open_db(self.workspace)
        try:
            security.record_approval(db, str(frame.get("id")), thread_id, platform, frame.get("by"))
        finally:
            db.close()

    async def answer(self, platform: str, approval_id: str, user: str) -> str | None:
        """None if ``user`` may answer the approval now (and it is now theirs); else the refusal to show them."""
        return await asyncio.to_thread(self._answer, platform, approval_id, user)

    def _answer(self, platform: str, approval_id: str, user: str) -> str | None:
        db = open_db(self.workspace)
        try:
            record = security.get_approval(db, approval_id)
            if not security.may_answer(self.settings, record, platform, user):
                who = f"<@{record.requester}>" if record and record.requester else "an admin"
                return f"Only {who} can answer this request (the one who asked, or a loraport admin). Nothing was done."
            if not security.claim(db, approval_id, user):
                return "This request was already answered."
            return None
        finally:
            db.close()

    async def gate_message(self, thread_id: str, platform: str, user: str, text: str) -> str | None:
        """A message on a thread that waits for an approval answers it (agent.session): only its requester (or
        an admin) may send one there. None lets the message through; else the refusal to show the user."""
        pending = await asyncio.to_thread(self._pending, thread_id)
        if pending is None:
            return None
        if words.answer(text) is not None:  # the words agent.session reads as a yes or no to the pending request
            return await self.answer(platform, pending, user)
        return await asyncio.to_thread(self._may_only_answer, platform, pending, user)

    def _may_only_answer(self, platform: str, approval_id: str, user: str) -> str | None:
        db = open_db(self.workspace)
        try:
            record = security.get_approval(db, approval_id)
            if security.may_answer(self.settings, record, platform, user):
                return None
            who = f"<@{record.requester}>" if record and record.requester else "an admin"
            return (f"This thread is waiting for {who} to approve or reject the request above; your message was "
                    "not sent. Start a new thread to ask something else.")
        finally:
            db.close()

    def _pending(self, thread_id: str) -> str | None:
        sidekick = self.hub.sidekick_factory(self.workspace, thread_id)
        try:
            pending = sidekick.pending_approval()
            return pending.id if pending is not None else None
        finally:
            getattr(sidekick, "close", lambda: None)()

    # -- jobs -------------------------------------------------------------------------------------------------
    def job_info(self, job_id: str) -> JobInfo | None:
        from trainer import jobs as jobstore
        from web.routes.artifacts import lora_trigger_word

        db = open_db(self.workspace)
        try:
            job = jobstore.get_job(db, job_id)
        except LoraportError:
            return None
        finally:
            db.close()
        path = Path(job.lora_path) if job.lora_path else None
        trigger = lora_trigger_word(job, path) if path and path.is_file() else None
        summary = (job.result or {}).get("summary")
        return JobInfo(kind=job.kind, lora_path=path, trigger_word=trigger, final_loss=job.final_loss,
                       steps=job.steps, summary=summary if isinstance(summary, str) else None)
