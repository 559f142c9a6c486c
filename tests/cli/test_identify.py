"""`attendance identify`: names from a folder of known people, JSON per image, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2

from attendance.enrolment.images import read_image
from tests.helpers import PHOTOS, side_by_side


def _known(tmp_path: Path, *names: str) -> Path:
    known = tmp_path / "known"
    for name in names:
        (known / name).mkdir(parents=True)
        shutil.copy(PHOTOS / f"{name}.jpg", known / name / "photo.jpg")
    return known


def test_json_names_each_face_and_unknown_people_are_null(cli, tmp_path: Path):
    known = _known(tmp_path, "obama")
    result = cli(
        "identify", "--known", known, PHOTOS / "obama2.jpg", PHOTOS / "biden.jpg", "--json"
    )
    assert result.code == 0, result.err
    obama, biden = (json.loads(line) for line in result.out.splitlines())
    assert obama["image"] == str(PHOTOS / "obama2.jpg")
    (face,) = obama["faces"]
    assert set(face) == {"box", "name", "distance", "decision"}
    assert face["name"] == "obama" and face["decision"] == "match" and face["distance"] < 0.6
    top, right, bottom, left = face["box"]
    assert 0 <= left < right and 0 <= top < bottom
    (stranger,) = biden["faces"]
    assert stranger["name"] is None and stranger["decision"] == "unknown"
    assert stranger["distance"] > 0.6


def test_text_lists_everyone_in_a_group_photo(cli, tmp_path: Path):
    known = _known(tmp_path, "obama", "biden")
    group = side_by_side(read_image(PHOTOS / "obama3.jpg"), read_image(PHOTOS / "biden.jpg"))
    path = tmp_path / "group.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(group, cv2.COLOR_RGB2BGR))
    result = cli("identify", "--known", known, path, "--tolerance", "0.5")
    assert result.code == 0, result.err
    line, names = result.out.strip().split(": ", 1)
    assert line == str(path)
    assert sorted(name.split(" ")[0] for name in names.split(", ")) == ["biden", "obama"]


def test_unreadable_images_and_unusable_known_people_are_named(cli, tmp_path: Path):
    known = _known(tmp_path, "obama")
    missing = cli("identify", "--known", known, tmp_path / "nope.jpg", PHOTOS / "obama3.jpg")
    assert missing.code == 2
    assert f"{tmp_path / 'nope.jpg'}: file not found" in missing.err
    assert f"{PHOTOS / 'obama3.jpg'}: obama" in missing.out  # the others are still identified

    (known / "nobody").mkdir()
    (known / "nobody" / "blank.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    unusable = cli("identify", "--known", known, PHOTOS / "obama3.jpg")
    assert unusable.code == 2
    assert f"{known / 'nobody'}: no usable photo" in unusable.err
    assert "blank.png" in unusable.err
