"""Tar datasets (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz): imported like a zip, refused whole when crafted."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from core.errors import LoraportError
from core.store import open_db
from tests.trainer.clips import make_clip
from tools.dataset import import_dataset
from tools.dataset.sources import ImportLimits


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("clips")
    return [make_clip(folder / f"c{i}.mp4", frames=17, size=(64, 48), color=(60 * i, 40, 200 - 40 * i)).read_bytes()
            for i in range(3)]


def _tar(path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tf.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tf.addfile(info, io.BytesIO(entry[1]))
    return path


def _special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _nothing_left(workspace) -> None:
    assert not workspace.datasets_dir.exists() or list(workspace.datasets_dir.iterdir()) == []
    assert open_db(workspace)["datasets"].count == 0


@pytest.mark.parametrize("name, mode", [("set.tar", "w"), ("set.tar.gz", "w:gz"), ("set.tgz", "w:gz"),
                                        ("set.tar.bz2", "w:bz2"), ("SET.TAR.XZ", "w:xz")])
def test_a_tarball_imports_like_a_folder(tmp_path, workspace, clip_bytes, name, mode):
    folder = tarfile.TarInfo("clips")
    folder.type = tarfile.DIRTYPE
    archive = _tar(tmp_path / name, [folder, ("clips/夜.mp4", clip_bytes[0]), ("clips/b.mp4", clip_bytes[1]),
                                     ("clips/sub/c.mp4", clip_bytes[2]), ("clips/b.txt", b"a blue room")], mode)
    report = import_dataset(archive)
    assert {f.name for f in report.files if f.error is None} == {"clips/夜.mp4", "clips/b.mp4", "clips/sub/c.mp4"}
    assert (Path(report.path) / "clips" / "夜.mp4").read_bytes() == clip_bytes[0]
    rows = {r["media"]: r["caption"] for r in map(json.loads, (Path(report.path) / "captions.jsonl").read_text()
                                                  .splitlines())}
    assert rows["clips/b.mp4"] == "a blue room"
    assert archive.is_file(), "the user's archive is only read"
    assert not list(workspace.datasets_dir.glob(".staging-*"))


@pytest.mark.parametrize("entry, says", [
    (("../escape.mp4", b"x"), "points outside"), (("/etc/cron.d/evil.mp4", b"x"), "points outside"),
    (("clips/../../escape.mp4", b"x"), "points outside"),
    (_special("link.mp4", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
    (_special("hard.mp4", tarfile.LNKTYPE, "c0.mp4"), "is a link"),
    (_special("pipe.mp4", tarfile.FIFOTYPE), "special file"), (_special("dev.mp4", tarfile.CHRTYPE), "special file"),
    (("a" * 300 + ".mp4", b"x"), "longer than a file system allows"),
    (("c0.mp4", b"second copy"), "appears twice"), (("./c1.mp4", b"second copy"), "appears twice"),
])
def test_a_crafted_tarball_is_refused_whole_and_writes_nothing(tmp_path, workspace, clip_bytes, entry, says):
    archive = _tar(tmp_path / "evil.tar", [("c0.mp4", clip_bytes[0]), ("c1.mp4", clip_bytes[1]), entry])
    with pytest.raises(LoraportError, match=says):
        import_dataset(archive)
    _nothing_left(workspace)
    assert not list(tmp_path.rglob("escape.mp4")) and not list(workspace.home.rglob("escape.mp4"))


def _declaring(path: Path, size: int) -> Path:
    """A gzipped tar whose one header claims ``size`` bytes, followed by only a few: a bomb's shape."""
    info = tarfile.TarInfo("huge.mp4")
    info.size = size
    with tarfile.open(path, "w:gz") as tf:
        tf.fileobj.write(info.tobuf(tf.format, tf.encoding, tf.errors))
        tf.fileobj.write(b"\0" * 1024)
    return path


def test_a_tarball_declaring_more_than_it_could_hold_is_refused_at_its_header(tmp_path, workspace):
    with pytest.raises(LoraportError, match="limit per file"):
        import_dataset(_declaring(tmp_path / "tera.tar.gz", 10**12))  # refused before skipping a terabyte
    with pytest.raises(LoraportError, match="decompression bomb"):
        import_dataset(_declaring(tmp_path / "giga.tar.gz", 1 << 30))
    with pytest.raises(LoraportError, match="limit per file"):
        import_dataset(_tar(tmp_path / "big.tar", [("a.mp4", b"v" * 5000)]), limits=ImportLimits(max_file_bytes=4000))
    _nothing_left(workspace)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_tarball_is_a_clear_error(tmp_path, workspace, clip_bytes, damage):
    path = _tar(tmp_path / "set.tar.gz", [("c0.mp4", clip_bytes[0]), ("c1.mp4", clip_bytes[1])], "w:gz")
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x1f\x8b" + b"\xff" * 500, "empty": b""}[damage])
    with pytest.raises(LoraportError, match="could not be unpacked|empty"):
        import_dataset(path)
    _nothing_left(workspace)


def test_a_tarball_upload_is_handed_over_as_the_archive(client_factory, tmp_path, clip_bytes):
    client = client_factory()
    archive = _tar(tmp_path / "set.tar.gz", [("c0.mp4", clip_bytes[0])], "w:gz")
    response = client.post("/api/uploads", files=[("files", ("my set.tar.gz", archive.read_bytes()))])
    assert response.status_code == 201, response.text
    upload = response.json()[0]
    assert upload["kind"] == "dataset" and upload["path"].endswith("my set.tar.gz")
    report = import_dataset(Path(upload["path"]))
    assert report.n_files == 1


@pytest.fixture
def client_factory(workspace):
    from fastapi.testclient import TestClient

    from web.app import create_app

    clients = []

    def make():
        clients.append(TestClient(create_app()).__enter__())
        return clients[-1]

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_checking_a_tarball_reads_it_without_importing(tmp_path, workspace, clip_bytes):
    from tools.dataset import check_dataset

    archive = _tar(tmp_path / "set.tar.gz", [("c0.mp4", clip_bytes[0]), ("c1.mp4", clip_bytes[1])], "w:gz")
    report = check_dataset(archive)
    assert report.id is None and report.n_videos == 2 and report.path == str(archive)
    _nothing_left(workspace)
