"""`loraport dataset import|check` and `loraport caption`: --json documents, readable tables, one-line errors."""

import json

import pytest

from cli.main import main
from tests.trainer.clips import make_clip


def _run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main([*map(str, argv)])
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def _folder(tmp_path, n=3):
    src = tmp_path / "clips"
    for i in range(n):
        make_clip(src / f"clip{i}.mp4", frames=17, size=(64, 48), color=(70 * i, 50, 50))
    (src / "broken.mp4").write_text("not a video")
    return src


def test_dataset_import_json_then_check_table(tmp_path, capsys):
    code, out, err = _run(capsys, "dataset", "import", _folder(tmp_path), "--recipe", "character", "--json")
    report = json.loads(out)
    assert code == 0 and report["n_files"] == 3 and "broken.mp4" in report["errors"]
    assert err == "", "--json prints one document and no bar"
    assert report["recommendations"], "3 clips is too few for the character recipe: say so"

    code, out, err = _run(capsys, "dataset", "check", report["id"])
    assert code == 0 and "checking files" in err, "a progress bar on stderr"
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["file", "kind", "size"]
    assert any(line.startswith("broken.mp4") and "REFUSED" in line for line in lines)
    assert any(line.startswith("clip0.mp4") and "64x48" in line for line in lines)
    assert "To fix:" in out


def test_caption_preview_then_all_then_edit(tmp_path, capsys):
    _, out, _ = _run(capsys, "dataset", "import", _folder(tmp_path), "--json")
    dataset_id = json.loads(out)["id"]

    code, out, _ = _run(capsys, "caption", dataset_id, "--backend", "template", "--trigger", "ohwx", "--preview",
                        "--json")
    preview = json.loads(out)
    assert code == 0 and preview["quality"] == "low" and len(preview["items"]) == 3
    assert all(i["trained_as"].startswith("ohwx ") for i in preview["items"])

    code, out, err = _run(capsys, "caption", dataset_id, "--backend", "template")
    assert code == 0 and "3 captioned" in out and "LOW QUALITY" in out
    assert "captioning" in err, "a progress bar on stderr"

    code, out, _ = _run(capsys, "caption", dataset_id, "--edit", "clip1.mp4", "--text", "a dim room")
    assert code == 0 and out.strip() == "clip1.mp4: ohwx a dim room"


def test_dataset_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, out, err = _run(capsys, "dataset", "import", tmp_path / "empty")
    assert code == 2 and out == "" and err.startswith("error: ") and "empty" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "caption", "nope")
    assert code == 2 and "dataset import" in err


def test_caption_detach_queues_a_caption_job(tmp_path, capsys, workspace):
    from core.store import open_db
    from trainer.jobs import get_job

    _, out, _ = _run(capsys, "dataset", "import", _folder(tmp_path), "--json")
    dataset_id = json.loads(out)["id"]
    code, out, _ = _run(capsys, "caption", dataset_id, "--backend", "template", "--detach", "--json")
    job = get_job(open_db(workspace), json.loads(out)["job_id"])
    assert code == 0 and job.kind == "caption" and job.status == "queued"
    assert job.config["dataset_id"] == dataset_id and job.config["backend"] == "template"
