"""A backup of a workspace taken while the service runs.

The SQLite files (the store and the sidekick's conversations) are copied with SQLite's online backup API, which
gives a consistent snapshot even while a worker writes events; copying them as files could catch half a
transaction. The user's files (datasets, runs with their LoRAs, checkpoints and reports, uploads) are copied as
they are. The cache is left out (it is rebuilt from the datasets on the next run) and so are the worker locks.
The result is itself a workspace: point ``LORAPORT_HOME`` at it to restore.
"""

import json
import shutil
import sqlite3
import time
from pathlib import Path

from pydantic import BaseModel

from core.disk import ensure_free
from core.errors import LoraportError
from core.workspace import Workspace

SKIPPED = ("cache", "workers")  # rebuilt on demand / meaningful only to live processes


class BackupReport(BaseModel):
    dest: str
    databases: list[str]
    files: int
    bytes: int
    seconds: float


def backup_workspace(workspace: Workspace, dest: Path, *, files: bool = True) -> BackupReport:
    """Copy ``workspace`` to the new folder ``dest``: databases through SQLite's online backup, then the files."""
    started = time.monotonic()
    home, dest = workspace.home.resolve(), Path(dest).resolve()
    if dest == home or home in dest.parents:
        raise LoraportError(f"the backup folder {dest} is inside the workspace {home}: choose a folder elsewhere.")
    if dest.exists() and any(dest.iterdir()):
        raise LoraportError(f"{dest} already holds files: give a new or empty folder for the backup.")
    db_paths = (workspace.db_path, workspace.agent_checkpoint_path)
    to_copy = _user_files(home, tuple(p.name for p in db_paths)) if files else []
    databases = [p for p in db_paths if p.is_file()]
    size = sum(p.stat().st_size for p in to_copy) + sum(p.stat().st_size for p in databases)
    dest.mkdir(parents=True, exist_ok=True)
    ensure_free(dest, size, "the backup")
    for db_file in databases:
        _online_backup(db_file, dest / db_file.name)
    for src in to_copy:
        target = dest / src.relative_to(home)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    report = BackupReport(dest=str(dest), databases=[p.name for p in databases], files=len(to_copy), bytes=size,
                          seconds=round(time.monotonic() - started, 2))
    (dest / "BACKUP.json").write_text(json.dumps({**report.model_dump(), "source": str(home),
                                                  "created_at": time.time()}, indent=2) + "\n")
    return report


def _online_backup(src: Path, dst: Path) -> None:
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def _user_files(home: Path, databases: tuple[str, ...]) -> list[Path]:
    found = []
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home)
        if rel.parts[0] in SKIPPED or not path.is_file() or path.is_symlink():
            continue
        if len(rel.parts) == 1 and rel.name.startswith(databases):
            continue  # the databases and their -wal / -shm files: copied through the online backup instead
        found.append(path)
    return found
