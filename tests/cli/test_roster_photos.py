"""`attendance roster photos`: every photo enrolled or skipped with its reason, nothing stored
twice, one audit event, exit 2 when nothing could be used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from attendance.enrolment.images import read_image
from attendance.store.db import transaction
from attendance.store.models import AuditEvent, FaceEncoding, RosterEntry
from tests.helpers import PHOTOS, person, side_by_side, site, write_roster, write_sites


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


@pytest.fixture
def roster(cli, db, tmp_path: Path) -> str:
    """Site DC1: P1 to P3 consented, P4 did not."""
    sites = write_sites(tmp_path / "sites.csv", [site("DC1")])
    people = [person("DC1", f"P{n}") for n in (1, 2, 3)]
    people.append(person("DC1", "P4", consent_biometric="không"))
    for command in (
        ("sites", "import", sites),
        ("roster", "import", write_roster(tmp_path / "r.csv", people)),
    ):
        assert cli(*command, "--db", db).code == 0
    return db


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(PHOTOS / "obama.jpg", folder / "P1.jpg")
    (folder / "P1").mkdir()
    shutil.copy(PHOTOS / "obama2.jpg", folder / "P1" / "second.jpeg")
    shutil.copy(PHOTOS / "obama.jpg", folder / "P1" / "same-file.jpg")
    (folder / "P2").mkdir()
    shutil.copy(PHOTOS / "biden.jpg", folder / "P2" / "biden.jpg")
    group = side_by_side(read_image(PHOTOS / "obama3.jpg"), read_image(PHOTOS / "biden.jpg"))
    _write(folder / "P2" / "group.jpg", group)
    gradient = np.repeat(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], 240, axis=0)
    _write(folder / "P3.png", np.repeat(gradient, 3, axis=2))
    (folder / "P3").mkdir()
    (folder / "P3" / "broken.jpg").write_bytes(b"not a picture")
    shutil.copy(PHOTOS / "obama3.jpg", folder / "P4.jpg")
    shutil.copy(PHOTOS / "biden.jpg", folder / "P9.jpg")
    (folder / "notes.txt").write_text("photos from the unit's album")
    (folder / ".DS_Store").write_bytes(b"\0")
    return folder


def _stored(engine) -> list[tuple[str, int]]:
    with transaction(engine) as session:
        query = select(RosterEntry.person_code, FaceEncoding.encoding).join(RosterEntry)
        return sorted((code, len(encoding)) for code, encoding in session.execute(query))


def test_photos_are_enrolled_or_skipped_with_the_reason(cli, roster, photos, engine):
    result = cli("roster", "photos", photos, "--json", "--db", roster)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    # Sorted, P1/ comes before P1.jpg: the copy of the same file there is enrolled first.
    assert report["enrolled"] == ["P1/same-file.jpg", "P1/second.jpeg", "P2/biden.jpg"]
    assert report["already_enrolled"] == ["P1.jpg"]
    reasons = {item["photo"]: item["reason"] for item in report["skipped"]}
    assert reasons == {
        "notes.txt": "not a .jpg, .jpeg or .png file",
        "P2/group.jpg": "2 faces found; a roster photo must show one person",
        "P3.png": "no face found",
        "P3/broken.jpg": "not an image OpenCV can decode (JPEG, PNG, BMP, TIFF, WebP…)",
        "P4.jpg": "P4 has not consented to face identification (consent_biometric)",
        "P9.jpg": "unknown person code 'P9'",
    }
    assert _stored(engine) == [("P1", 1024), ("P1", 1024), ("P2", 1024)]

    again = cli("roster", "photos", photos, "--db", roster)
    assert again.code == 0, again.err
    assert f"{photos}: enrolled 0 photos, 4 already enrolled, 6 skipped" in again.out
    assert "skipped P9.jpg: unknown person code 'P9'" in again.out
    assert len(_stored(engine)) == 3

    with transaction(engine) as session:
        events = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.action == "roster.photos")
        ).all()
    assert events == [
        {"directory": "photos", "enrolled": 3, "already_enrolled": 1, "skipped": 6},
        {"directory": "photos", "enrolled": 0, "already_enrolled": 4, "skipped": 6},
    ]


def test_nothing_to_enroll_is_bad_input(cli, roster, tmp_path: Path):
    missing = cli("roster", "photos", tmp_path / "nowhere", "--db", roster)
    assert missing.code == 2
    assert "nowhere: no such directory" in missing.err

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("-")
    assert (
        "no photos (.jpg, .jpeg, .png) found" in cli("roster", "photos", empty, "--db", roster).err
    )

    strangers = tmp_path / "strangers"
    strangers.mkdir()
    shutil.copy(PHOTOS / "biden.jpg", strangers / "X1.jpg")
    unusable = cli("roster", "photos", strangers, "--db", roster)
    assert unusable.code == 2
    assert "skipped X1.jpg: unknown person code 'X1'" in unusable.out
    assert "no photo could be enrolled" in unusable.err
