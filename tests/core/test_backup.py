"""`loraport backup`: a consistent copy of the store and the user's files, safe while the service runs."""

import json
import sqlite3

import pytest

from cli.main import main
from core.backup import backup_workspace
from core.errors import LoraportError
from core.store import open_db


def _fill(workspace):
    db = open_db(workspace)
    db["datasets"].insert({"id": "ds1", "name": "mystyle", "path": str(workspace.dataset_dir("ds1"))})
    (workspace.dataset_dir("ds1")).mkdir(parents=True, exist_ok=True)
    (workspace.dataset_dir("ds1") / "clip.txt").write_text("a red fox")
    run = workspace.run_dir("train-1")
    run.mkdir(parents=True)
    (run / "lora.safetensors").write_bytes(b"\0" * 1000)
    cache = workspace.cache_dir("tiny-ltx-2.3")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "latents.safetensors").write_bytes(b"\0" * 5000)
    return db


def test_backup_copies_the_store_and_files_but_not_the_cache(workspace, tmp_path):
    db = _fill(workspace)
    writer = sqlite3.connect(workspace.db_path)  # a writer with an open transaction: the service at work
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO datasets (id, name) VALUES ('ds2', 'not committed')")
    try:
        report = backup_workspace(workspace, tmp_path / "backup")
    finally:
        writer.rollback()
        writer.close()
    dest = tmp_path / "backup"
    copy = sqlite3.connect(dest / "loraport.db")
    assert copy.execute("SELECT id FROM datasets").fetchall() == [("ds1",)]  # committed rows only
    assert (dest / "datasets" / "ds1" / "clip.txt").read_text() == "a red fox"
    assert (dest / "runs" / "train-1" / "lora.safetensors").stat().st_size == 1000
    assert not (dest / "cache").exists()
    assert report.databases == ["loraport.db"] and report.files == 2
    assert json.loads((dest / "BACKUP.json").read_text())["source"] == str(workspace.home.resolve())
    db.close()


def test_backup_refuses_a_folder_inside_the_workspace_or_one_with_files(workspace, tmp_path):
    _fill(workspace)
    with pytest.raises(LoraportError, match="inside the workspace"):
        backup_workspace(workspace, workspace.home / "backups")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(LoraportError, match="already holds files"):
        backup_workspace(workspace, busy)
    assert (busy / "keep.txt").read_text() == "mine"


def test_loraport_backup_prints_json(workspace, tmp_path, capsys):
    _fill(workspace)
    with pytest.raises(SystemExit) as done:
        main(["backup", str(tmp_path / "b"), "--databases-only", "--json"])
    assert done.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["databases"] == ["loraport.db"] and out["files"] == 0
