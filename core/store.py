"""The SQLite store (sqlite-utils) and its forward-only migrations.

Each part owns its tables and is the only writer of them: trainer/ ``jobs`` and ``job_events``; tools/
``datasets``, ``dataset_files`` and ``artifacts``; agent/ ``threads`` (LangGraph keeps its own checkpoint file).
A schema change is a new numbered function at the end of ``MIGRATIONS``; it runs once, in one transaction with
its record in ``_migrations``.
"""

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from core.errors import LoraportError
from core.workspace import Workspace

Migration = Callable[[sqlite_utils.Database], None]


def m001_jobs(db: sqlite_utils.Database) -> None:
    db["jobs"].create(
        {
            "id": str, "kind": str, "status": str, "config": str, "run_dir": str, "thread_id": str,
            "recipe": str, "model_id": str, "created_at": str, "started_at": str, "finished_at": str,
            "step": int, "total": int, "loss": float, "lora_path": str, "error": str, "worker_pid": int,
            "cancel_requested": int, "resumed_from": str, "parent_job_id": str,
        },
        pk="id",
    )
    db["jobs"].create_index(["status"])


def m002_job_events(db: sqlite_utils.Database) -> None:
    db["job_events"].create(
        {"id": int, "job_id": str, "type": str, "step": int, "ts": float, "data": str}, pk="id",
        foreign_keys=[("job_id", "jobs", "id")],
    )
    db["job_events"].create_index(["job_id", "id"])


def m003_datasets(db: sqlite_utils.Database) -> None:
    db["datasets"].create(
        {"id": str, "name": str, "path": str, "created_at": str, "n_files": int, "trigger_word": str,
         "recipe": str, "summary": str},
        pk="id",
    )
    db["dataset_files"].create(
        {"id": str, "dataset_id": str, "name": str, "sha256": str, "kind": str, "width": int, "height": int,
         "frames": int, "fps": float, "duration_s": float, "has_audio": int, "split": str, "bucket": str,
         "caption": str, "caption_source": str, "error": str},
        pk="id", foreign_keys=[("dataset_id", "datasets", "id")],
    )
    db["dataset_files"].create_index(["dataset_id"])


def m004_artifacts(db: sqlite_utils.Database) -> None:
    db["artifacts"].create(
        {"id": str, "kind": str, "path": str, "job_id": str, "thread_id": str, "trigger_word": str,
         "recipe": str, "created_at": str, "meta": str},
        pk="id",
    )


def m005_threads(db: sqlite_utils.Database) -> None:
    db["threads"].create(
        {"id": str, "title": str, "surface": str, "owner": str, "created_at": str, "updated_at": str}, pk="id"
    )


def m006_jobs_worker_fields(db: sqlite_utils.Database) -> None:
    """Which process owns a running job (pid + start time survives pid reuse), its device, attempts, result."""
    for column, kind in (("worker", str), ("device", str), ("attempts", int), ("result", str)):
        db["jobs"].add_column(column, kind)


def m007_dataset_caption_status(db: sqlite_utils.Database) -> None:
    """Captions are previewed before approval (caption_status preview | final); a dataset keeps its import report."""
    db["dataset_files"].add_column("caption_status", str)
    db["datasets"].add_column("report", str)


def m008_dataset_file_reference(db: sqlite_utils.Database) -> None:
    """IC-LoRA: a target clip names its reference clip (``clip_ref.mp4``), which is not an item of its own."""
    db["dataset_files"].add_column("reference", str)


def m009_bots(db: sqlite_utils.Database) -> None:
    """web/bots: requests already seen (replays, Slack retries) and who asked for each approval a bot posted."""
    db["bot_seen"].create({"key": str, "seen_at": float}, pk="key")
    db["bot_approvals"].create(
        {"id": str, "thread_id": str, "platform": str, "requester": str, "created_at": str, "answered_by": str,
         "answered_at": str},
        pk="id",
    )


MIGRATIONS: list[Migration] = [m001_jobs, m002_job_events, m003_datasets, m004_artifacts, m005_threads,
                               m006_jobs_worker_fields, m007_dataset_caption_status,
                               m008_dataset_file_reference, m009_bots]


def migrate(db: sqlite_utils.Database, migrations: list[Migration] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet recorded, all in one transaction; return the names applied now."""
    if all(fn.__name__ in _recorded(db) for fn in migrations):
        return []  # the common case, one read: every open of the store passes here
    # Take the write lock before reading what is done, so two processes opening a blank store do not both
    # migrate it: the second waits (busy_timeout), then finds nothing left to do.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        done, applied = _recorded(db), []
        for fn in migrations:
            if fn.__name__ not in done:
                fn(db)  # DDL included: a failure rolls everything back, no half-made table stays behind
                db["_migrations"].insert({"name": fn.__name__, "applied_at": now_iso()})
                applied.append(fn.__name__)
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
    return applied


def _recorded(db: sqlite_utils.Database) -> set[str]:
    try:
        return {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    except sqlite3.OperationalError:  # a blank store: no _migrations table yet
        return set()


def schema_version(db: sqlite_utils.Database) -> int:
    return len(_recorded(db))


def open_db(workspace: Workspace | Path | None = None, *, check_same_thread: bool = True) -> sqlite_utils.Database:
    """Open the workspace database, migrated to the current schema. WAL lets the worker and server share it.

    ``check_same_thread=False`` is for web dependencies, which FastAPI may open, use and close on different
    threads (one request at a time, never concurrently).
    """
    if workspace is None:
        workspace = Workspace.from_settings()
    path = workspace.db_path if isinstance(workspace, Workspace) else Path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(sqlite3.connect(path, timeout=10, check_same_thread=check_same_thread))
    try:
        db.conn.execute("PRAGMA busy_timeout = 10000")
        db.conn.execute("PRAGMA journal_mode = WAL")
        migrate(db)
    except sqlite3.DatabaseError as err:
        db.close()
        if isinstance(err, sqlite3.OperationalError):  # locked, read-only, disk I/O: not the file's content
            raise
        raise LoraportError(f"{path} is not a readable loraport database ({err}). Nothing was changed: restore it "
                            "from a backup (`loraport backup`), or move it aside to start an empty workspace.") from None
    return db


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
