"""Enrolling roster photos: one face encoding per good photo of a person who consented.

Every photo is accounted for: enrolled, already enrolled (the same file, by SHA-256, so a re-run
stores nothing twice) or skipped with the reason. Encodings take ~0.2 s a photo, so they are
computed outside any transaction; all rows are then written in one, with the audit event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from attendance.enrolment.images import read_image
from attendance.enrolment.photos import Photo, find_photos
from attendance.errors import BadInput
from attendance.store import audit_log
from attendance.store.db import transaction
from attendance.store.faces import Enrollee, add_encodings, enrollees
from attendance.vision.identify import PhotoError, encode_photo, to_bytes


@dataclass
class Enrollment:
    enrolled: list[str] = field(default_factory=list)  # photo names, relative to the folder
    already: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # photo name → why

    def counts(self) -> dict[str, int]:
        return {
            "enrolled": len(self.enrolled),
            "already_enrolled": len(self.already),
            "skipped": len(self.skipped),
        }


class Skip(Exception):
    """Why one photo cannot be enrolled; the others still are."""


def enroll_photos(engine: Engine, directory: Path, actor: str | None = None) -> Enrollment:
    """Enroll the photos of `directory` (`P0001.jpg` or `P0001/*.jpg`, named by person code)."""
    photos, others = find_photos(directory)
    report = Enrollment()
    for path in others:
        report.skipped[path.relative_to(directory).as_posix()] = "not a .jpg, .jpeg or .png file"
    with transaction(engine) as session:
        people = enrollees(session, {photo.owner for photo in photos})
    rows = []
    for photo in photos:
        try:
            row = _encode(photo, people.get(photo.owner))
        except Skip as exc:
            report.skipped[photo.name] = str(exc)
            continue
        if row is None:
            report.already.append(photo.name)
        else:
            report.enrolled.append(photo.name)
            rows.append(row)
    with transaction(engine) as session:
        add_encodings(session, rows)
        payload = {"directory": directory.name, **report.counts()}
        audit_log.record(session, "roster.photos", payload, actor=actor)
    return report


def _encode(photo: Photo, person: Enrollee | None) -> dict[str, Any] | None:
    """The FaceEncoding row of a photo, or None when this very file is enrolled already."""
    if person is None:
        raise Skip(f"unknown person code {photo.owner!r}")
    if not person.active:
        raise Skip(f"{photo.owner} is no longer on the roster")
    if not person.consent:
        raise Skip(f"{photo.owner} has not consented to face identification (consent_biometric)")
    try:
        image = read_image(photo.path)
    except BadInput as exc:
        raise Skip(str(exc).removeprefix(f"{photo.path}: ")) from None
    sha256 = hashlib.sha256(photo.path.read_bytes()).hexdigest()
    if sha256 in person.photos:
        return None
    try:
        encoding = encode_photo(image)
    except PhotoError as exc:
        raise Skip(str(exc)) from None
    person.photos.add(sha256)  # the same file twice in one folder is stored once
    return {"roster_entry_id": person.id, "encoding": to_bytes(encoding), "photo_sha256": sha256}
