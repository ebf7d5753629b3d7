import os

import pytest

from core.atomic import atomic_write_bytes, atomic_write_json


def test_atomic_write_leaves_old_file_when_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    atomic_write_json(target, {"v": 1})

    def failing_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"half")
    assert target.read_text().strip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
