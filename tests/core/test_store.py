import pytest
import sqlite_utils

from core.store import MIGRATIONS, migrate, open_db, schema_version


def test_migrate_from_blank_creates_every_table(workspace):
    db = open_db(workspace)
    assert {"jobs", "job_events", "datasets", "dataset_files", "artifacts", "threads"} <= set(db.table_names())
    assert schema_version(db) == len(MIGRATIONS)


def test_migrate_from_previous_schema_applies_only_the_rest(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    migrate(db, MIGRATIONS[:2])
    db["jobs"].insert({"id": "j1", "status": "finished"})
    applied = migrate(db)
    assert applied == [m.__name__ for m in MIGRATIONS[2:]]
    assert db["jobs"].get("j1")["status"] == "finished"
    assert migrate(db) == []


def test_failed_migration_rolls_back_with_its_record(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")

    def m900_broken(db):
        db.execute("CREATE TABLE half (id TEXT)")
        raise RuntimeError("boom")

    try:
        migrate(db, [m900_broken])
    except RuntimeError:
        pass
    assert "m900_broken" not in {r["name"] for r in db["_migrations"].rows}
    assert "half" not in db.table_names()


def test_concurrent_opens_of_a_blank_store_migrate_it_once(workspace):
    import threading

    errors, applied = [], []

    def open_one():
        try:
            db = sqlite_utils.Database(workspace.db_path)
            db.conn.execute("PRAGMA busy_timeout = 10000")
            applied.extend(migrate(db))
        except Exception as err:  # noqa: BLE001 - the test reports any failure
            errors.append(err)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(applied) == sorted(m.__name__ for m in MIGRATIONS)


@pytest.mark.parametrize("damage", ["text", "truncated", "zeros"])
def test_a_damaged_database_file_is_a_plain_error_and_is_left_as_it_was(workspace, damage):
    from core.errors import LoraportError

    if damage == "text":
        workspace.db_path.write_text("garbage, not sqlite\n")
    elif damage == "truncated":
        open_db(workspace).close()
        workspace.db_path.write_bytes(workspace.db_path.read_bytes()[:1500])
    else:
        workspace.db_path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    before = workspace.db_path.read_bytes()
    with pytest.raises(LoraportError, match="not a readable loraport database.*backup"):
        open_db(workspace)
    assert workspace.db_path.read_bytes() == before
