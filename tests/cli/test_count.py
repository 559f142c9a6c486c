"""`attendance count`: counts per image, JSON lines, and bad files reported one by one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

PHOTOS = Path(__file__).parents[1] / "data" / "photos"


def test_counts_each_image_as_json_lines(cli, tmp_path: Path):
    images = [PHOTOS / "obama.jpg", PHOTOS / "biden.jpg"]
    result = cli("count", "--json", *images)
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in images]
    assert [r["count"] for r in records] == [1, 1]
    top, right, bottom, left = records[0]["faces"][0]
    assert 0 <= top < bottom and 0 <= left < right
    assert records[0]["ms"] > 0


def test_bad_files_are_reported_and_the_rest_counted(cli, tmp_path: Path):
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes((PHOTOS / "obama.jpg").read_bytes()[:4000])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.touch()
    good = shutil.copy(PHOTOS / "obama2.jpg", tmp_path / "good.jpg")
    result = cli("count", truncated, text, empty, tmp_path / "missing.jpg", good)
    assert result.code == 2
    assert f"{good}: 1 faces" in result.out
    assert f"{truncated}: truncated JPEG" in result.err
    assert f"{text}: not an image OpenCV can decode" in result.err
    assert f"{empty}: empty file" in result.err
    assert "missing.jpg: file not found" in result.err


def test_roi_file_excluding_the_face(cli, tmp_path: Path):
    roi = tmp_path / "roi.json"
    roi.write_text(json.dumps({"exclude": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}))
    result = cli("count", "--roi", roi, PHOTOS / "obama.jpg")
    assert (result.code, "obama.jpg: 0 faces" in result.out) == (0, True)
    roi.write_text(json.dumps({"exclude": [[[0, 0], [2, 0], [1, 1]]]}))
    bad = cli("count", "--roi", roi, PHOTOS / "obama.jpg")
    assert bad.code == 2
    assert "roi.json: exclude[0]: point [2, 0] is not [x, y]" in bad.err
