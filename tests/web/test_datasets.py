"""Datasets over REST: the imported report, and a caption the user edits in the page."""

from tests.trainer.clips import make_clip


def test_edit_a_caption_and_read_it_back(client, workspace, tmp_path):
    from tools.dataset import import_dataset

    for i, color in enumerate([(200, 40, 40), (40, 200, 40)]):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", color=color)
    report = import_dataset(tmp_path / "clips", name="mine")
    name = report.files[0].name
    response = client.put(f"/api/datasets/{report.id}/captions", json={"media": name, "caption": "a red square"})
    assert response.status_code == 200, response.text
    files = {f["name"]: f for f in client.get(f"/api/datasets/{report.id}").json()["files"]}
    assert files[name]["caption"] == "a red square" and files[name]["caption_source"] == "user"
    thumb = client.get(f"/api/files/{(workspace.home / 'datasets').name}/{report.id}/{name}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "video/mp4"


def test_caption_for_a_file_not_in_the_dataset_is_a_json_404(client, workspace, tmp_path):
    from tools.dataset import import_dataset

    for i, color in enumerate([(200, 40, 40), (40, 200, 40)]):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", color=color)
    report = import_dataset(tmp_path / "clips")
    response = client.put(f"/api/datasets/{report.id}/captions", json={"media": "nope.mp4", "caption": "x"})
    assert response.status_code == 404 and "nope.mp4" in response.json()["error"]
    assert client.get("/api/datasets/never").status_code == 404
