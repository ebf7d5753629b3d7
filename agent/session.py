"""`Sidekick`: one conversation thread as a stream of typed events. Every surface (web, bots, terminal) uses it.

    kick = Sidekick(workspace, thread_id)
    for event in kick.send("here is my LoRA /path/old.safetensors"): draw(event)
    for event in kick.approve(kick.pending_approval().id): draw(event)
"""

import copy
import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langgraph.types import Command, StateSnapshot

from agent.brains import Brain, make_brain
from agent.context import AgentContext
from agent.events import (ApprovalRequest, ErrorEvent, JobEventMsg, TextEvent, ToolEnd, ToolStart, TurnEnd,
                          parse_event)
from agent.graph import build_graph, open_checkpointer
from agent.runner import stream_turn
from agent import evaluation, words
from agent.brains.telling import describe
from agent.tools import TOOLS_BY_NAME
from core.errors import LoraportError, NotFoundError
from core.settings import Settings, get_settings
from core.store import now_iso, open_db
from core.workspace import Workspace
from trainer import jobs

log = logging.getLogger(__name__)
TERMINAL = {"finished", "failed", "cancelled"}


class Sidekick:
    def __init__(self, workspace: Workspace | None = None, thread_id: str | None = None,
                 brain: Brain | str | None = None, *, settings: Settings | None = None, surface: str = "api"):
        self.settings = settings or get_settings()
        self.workspace = workspace or Workspace.from_settings(self.settings)
        self.thread_id = thread_id or uuid.uuid4().hex[:12]
        self.brain = brain if brain is not None and not isinstance(brain, str) else make_brain(self.settings, brain)
        self._saver = open_checkpointer(self.workspace.agent_checkpoint_path)
        self.graph = build_graph(self._saver)
        self.context = AgentContext(self.workspace, self.thread_id, self.brain, self.settings,
                                    any_path=surface == "cli")
        self._config = {"configurable": {"thread_id": self.thread_id}, "recursion_limit": 40}
        self._surface = surface
        self._db = None  # the workspace database, opened on the first message and kept (see _touch_thread)
        self._snap: tuple[tuple | None, StateSnapshot] | None = None  # (checkpoint key, snapshot): see _snapshot

    # -- the conversation -----------------------------------------------------------------------------------

    def send(self, text: str, uploads: list[str | Path] | None = None) -> Iterator[Any]:
        """The user's message; yields events until the sidekick waits for the user again."""
        pending = _pending(self._snapshot())
        if pending is not None:
            said = words.answer(text)  # "sure", "yep", "go for it" approve; the bots read replies the same way
            if said == "yes":
                yield from self.approve(pending.id)
                return
            if said == "no":
                yield from self.reject(pending.id)
                return
            # Anything else answers "no" to the pending request(s), then is read as a new message: every
            # proposed call gets its result first, so the brain's history stays well-formed.
            for _ in range(len(TOOLS_BY_NAME)):
                yield from self._run(Command(resume={"approved": False}), end_turn=False)
                if _pending(self._snapshot()) is None:
                    break
        content = text.strip()
        if uploads:
            content += "\n" + "\n".join(f'uploaded: "{Path(p)}"' for p in uploads)
        self._touch_thread(content)
        yield from self.news()
        yield from self._run({"messages": [{"role": "user", "content": content}], "rounds": 0})

    def news(self) -> Iterator[Any]:
        """Evaluations that finished since the thread last looked join its state, and the verdict is told."""
        snapshot = self._snapshot()
        if _pending(snapshot) is not None:
            return
        fresh = evaluation.collect(snapshot.values or {}, self.workspace)
        if fresh:
            self.graph.update_state(self._config, {"evaluations": fresh})
            for report in fresh:
                yield ToolEnd(tool="evaluate", result=report, ok=True)  # the panel draws its card
                yield TextEvent(text=f"The evaluation of job {report.get('job_id')} has finished. "
                                     + describe("evaluate", report, False))

    def approve(self, approval_id: str) -> Iterator[Any]:
        """The user's explicit yes to the pending approval request; the heavy tool runs now."""
        pending = self._check_pending(approval_id)
        yield from self._run(Command(resume={"approved": True, "args": pending.args}))

    def reject(self, approval_id: str) -> Iterator[Any]:
        """The user's no: nothing runs and the brain hears that it was declined."""
        self._check_pending(approval_id)
        yield from self._run(Command(resume={"approved": False}))

    def pending_approval(self) -> ApprovalRequest | None:
        return _pending(self._snapshot())

    def state(self) -> dict[str, Any]:
        """The thread's state (agent/state.py) plus ``plan_settings`` and ``estimate`` lifted out of the plan."""
        state = copy.deepcopy(self._snapshot().values or {})  # a copy: the caller may change it, the cache not
        plan = state.get("plan") or {}
        return {**state, "plan_settings": plan.get("settings"), "estimate": plan.get("estimate")}

    def close(self) -> None:
        """Close the checkpoint file's connection and the workspace database's."""
        self._saver.conn.close()
        if self._db is not None:
            self._db.conn.close()

    def history(self) -> list[Any]:
        """The thread as events (user messages as TextEvent(role='user')), then any pending approval."""
        events: list[Any] = []
        snapshot = self._snapshot()
        for message in (snapshot.values or {}).get("messages") or []:
            if message["role"] == "user":
                events.append(TextEvent(text=message["content"], role="user"))
            elif message["role"] == "assistant":
                if message.get("content"):
                    events.append(TextEvent(text=message["content"]))
                events += [ToolStart(tool=c["name"], args=c.get("args") or {}) for c in message.get("tool_calls") or []]
            else:
                events.append(ToolEnd(tool=message["name"], result=message["content"], ok=not message.get("is_error")))
        pending = _pending(snapshot)
        return events + ([pending] if pending else [])

    # -- jobs -------------------------------------------------------------------------------------------------

    def job_ids(self) -> list[str]:
        return list((self._snapshot().values or {}).get("job_ids") or [])

    def watch_job(self, job_id: str, *, timeout_s: float | None = None, after_id: int = 0,
                  poll_s: float | None = None) -> Iterator[JobEventMsg]:
        """Stream a job's events (trainer.jobs.events) until it ends or ``timeout_s`` passes."""
        db = open_db(self.workspace)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            batch = jobs.events(db, job_id, after_id=after_id)
            for event in batch:
                after_id = event["id"]
                yield JobEventMsg(event=event)
                if event.get("type") in TERMINAL:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                return
            if not batch:
                time.sleep(poll_s if poll_s is not None else self.context.job_poll_s)

    # -- internals --------------------------------------------------------------------------------------------

    def _run(self, graph_input: Any, *, end_turn: bool = True) -> Iterator[Any]:
        # Heavy tools run only when an approval is resumed: those runs persist every step ("sync"), so a crash
        # after a launch never forgets the job nor asks again. A message turn runs only light tools and saves
        # once at its end or at its interrupt ("exit"): 3-4x faster, and a crash loses only that unfinished turn.
        durability = "sync" if isinstance(graph_input, Command) else "exit"
        jobs_before = set(self.job_ids())

        def run(emit) -> None:
            context = dataclasses.replace(self.context, emit=emit)
            for _ in self.graph.stream(graph_input, self._config, context=context, stream_mode="updates",
                                       durability=durability):
                pass

        try:
            for chunk in stream_turn(run):
                yield parse_event(chunk)
        except LoraportError as err:
            yield ErrorEvent(message=err.message)
        except Exception as err:  # the conversation survives a bug; the log keeps the trace
            log.exception("sidekick turn failed")
            yield ErrorEvent(message=f"Something went wrong on my side ({type(err).__name__}: {err}).")
        snapshot = self._snapshot()  # one read for both: the interrupt and the new jobs
        for item in (snapshot.interrupts or ())[:1]:
            yield ApprovalRequest(**item.value)
        for job_id in (snapshot.values or {}).get("job_ids") or []:
            if job_id not in jobs_before:  # a job launched this turn: show what it has said so far
                yield from self.watch_job(job_id, timeout_s=0)
        if end_turn:
            yield TurnEnd()

    def _snapshot(self) -> StateSnapshot:
        """The thread's LangGraph state, read again only when the checkpoint file changed since the last read.

        Building a snapshot costs about as much as the guided brain's whole reply, and a turn needs it three
        times (pending approval, jobs before, interrupt after). The key is the thread's newest checkpoint id and
        its count of pending writes (an interrupt is a write), so a turn run by another process or another
        Sidekick on this thread is still seen.
        """
        key = self._checkpoint_key()
        if self._snap is None or key is None or self._snap[0] != key:
            self._snap = (key, self.graph.get_state(self._config))
        return self._snap[1]

    def _checkpoint_key(self) -> tuple | None:
        # The tables are langgraph-checkpoint-sqlite's (SqliteSaver.setup); cursor() holds the saver's lock.
        with self._saver.cursor(transaction=False) as cur:
            row = cur.execute(
                "SELECT c.checkpoint_id, (SELECT count(*) FROM writes w WHERE w.thread_id = c.thread_id AND "
                "w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id) FROM checkpoints c "
                "WHERE c.thread_id = ? AND c.checkpoint_ns = '' ORDER BY c.checkpoint_id DESC LIMIT 1",
                (self.thread_id,)).fetchone()
        return tuple(row) if row else None

    def _check_pending(self, approval_id: str) -> ApprovalRequest:
        pending = _pending(self._snapshot())
        if pending is None:
            raise LoraportError("There is nothing waiting for approval in this conversation.")
        if pending.id != approval_id:
            raise NotFoundError(f"No pending approval {approval_id!r}; the pending one is {pending.id!r}.")
        return pending

    def _touch_thread(self, first_message: str) -> None:
        """The threads table (agent-owned) lists conversations for the surfaces' thread pickers.

        One connection per Sidekick (opening and migration-checking the store each turn cost ~1 ms), shared by
        the executor threads a web surface runs its turns on, one turn at a time.
        """
        if self._db is None:
            self._db = open_db(self.workspace, check_same_thread=False)
        now = now_iso()
        with self._db.conn:  # one transaction: committed here, rolled back on error
            updated = self._db.conn.execute("UPDATE threads SET updated_at = ? WHERE id = ?", [now, self.thread_id])
            if not updated.rowcount:
                self._db["threads"].insert({"id": self.thread_id, "title": first_message[:80],
                                            "surface": self._surface, "owner": None, "created_at": now,
                                            "updated_at": now})


def _pending(snapshot: StateSnapshot) -> ApprovalRequest | None:
    for item in snapshot.interrupts or ():
        return ApprovalRequest(**item.value)
    return None
