"""Identification in the sampler on real photographs: verdicts per face, strangers across
frames, verdicts carried to the faces that did not move (not encoded again), faces too small to
identify, storage with the sample, and the runtime end to end."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp import web
from sqlalchemy import select

from attendance.conferences import create_conference, create_session
from attendance.config import IdentifySettings, SamplingSettings
from attendance.enrolment.enroll import enroll_photos
from attendance.enrolment.images import read_image
from attendance.importing.roster import import_roster
from attendance.importing.sites import import_sites
from attendance.store.db import transaction
from attendance.store.identifications import last_stranger_labels
from attendance.store.models import Identification, RosterEntry, Sample
from attendance.vision.boxes import size
from attendance.vision.identify import encode_photo, same_faces
from attendance.vision.perspective import Perspective
from tests.helpers import PHOTOS, person, side_by_side, site, write_roster, write_sites
from workers.analysis import Policy, SiteMemory, count_frame, screen, settle
from workers.identification import SiteIdentity
from workers.pool import DetectionPool
from workers.runtime import EmbeddedRuntime
from workers.schedule import as_datetime
from workers.writer import SampleWriter

SETTINGS = IdentifySettings()
POLICY = Policy(recount_every_s=300, refresh_every_s=1800, frozen_after_s=60, identify=True)
OBAMA, BIDEN, OTHER = (10, 110, 110, 10), (10, 330, 110, 230), (120, 110, 220, 10)
SMALL = (10, 530, 40, 500)  # 30 px: under identify.min_face_px


@pytest.fixture(scope="module")
def faces() -> dict[str, np.ndarray]:
    return {path.stem: encode_photo(read_image(path)) for path in sorted(PHOTOS.glob("*.jpg"))}


def _verdicts(rows) -> dict[tuple, tuple]:
    return {
        tuple(r["box"]): (r["decision"], r["roster_entry_id"], r["stranger_label"]) for r in rows
    }


def test_verdicts_strangers_and_faces_kept_by_a_regional_recount(faces):
    obama = faces["obama"].tobytes()
    identity = SiteIdentity.load([(7, obama)], SETTINGS, last_stranger=3)

    first = identity.identify([OBAMA, BIDEN], {OBAMA: faces["obama2"], BIDEN: faces["biden"]})
    assert _verdicts(first) == {OBAMA: ("match", 7, None), BIDEN: ("unknown", None, 4)}
    assert all(row["distance"] > 0 for row in first)

    # A regional recount found one new face and kept the two others: only the new one is encoded.
    regional = identity.identify([OBAMA, BIDEN, OTHER], {OTHER: faces["obama3"]})
    assert _verdicts(regional) == {
        OBAMA: ("match", 7, None),
        BIDEN: ("unknown", None, 4),
        OTHER: ("match", 7, None),
    }

    # A face that moved away is encoded again; the stranger is recognised as the same one.
    moved = (200, 330, 300, 230)
    full = identity.identify([moved], {moved: faces["biden"]})
    assert _verdicts(full) == {moved: ("unknown", None, 4)}


def test_a_stranger_kept_in_the_frame_is_not_given_to_a_new_face(faces):
    identity = SiteIdentity.load([(7, faces["obama"].tobytes())], SETTINGS, last_stranger=0)
    identity.identify([BIDEN], {BIDEN: faces["biden"]})
    # The same face found again elsewhere while the first is kept: two people, two strangers.
    again = identity.identify([BIDEN, OTHER], {OTHER: faces["biden"]})
    assert _verdicts(again) == {BIDEN: ("unknown", None, 1), OTHER: ("unknown", None, 2)}


def test_a_face_that_barely_moved_keeps_its_verdict_with_its_new_box(faces):
    identity = SiteIdentity.load([(7, faces["obama"].tobytes())], SETTINGS, last_stranger=0)
    identity.identify([OBAMA, BIDEN], {OBAMA: faces["obama2"], BIDEN: faces["biden"]})
    shifted = (20, 118, 118, 18)  # IoU 0.72 with OBAMA
    assert _verdicts(identity.identify([shifted, BIDEN], {})) == {
        shifted: ("match", 7, None),
        BIDEN: ("unknown", None, 1),
    }


def test_a_face_too_small_to_identify_gets_no_verdict_nor_stranger_label(faces):
    """Even when given its encoding: under min_face_px it is counted, never identified."""
    identity = SiteIdentity.load([(7, faces["obama"].tobytes())], SETTINGS, last_stranger=0)
    rows = identity.identify([OBAMA, SMALL], {OBAMA: faces["obama2"], SMALL: faces["biden"]})
    assert _verdicts(rows) == {OBAMA: ("match", 7, None)}
    rows = identity.identify([BIDEN], {BIDEN: faces["biden"]})
    assert _verdicts(rows) == {BIDEN: ("unknown", None, 1)}  # the small face took no label


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {path.stem: read_image(path) for path in sorted(PHOTOS.glob("*.jpg"))}


def _count(now: float, memory: SiteMemory, identity: SiteIdentity, image: np.ndarray):
    """One frame as the sampler handles it, with the detection process's part in this process."""
    screening = screen(now, memory, POLICY, image=image)
    counted = count_frame(screening.job)
    settle(now, memory, screening, counted.result)
    rows = identity.identify(counted.result.boxes, counted.encodings)
    memory.identified = tuple(identity.last)
    return screening.job, counted, rows


def test_a_full_recount_encodes_only_the_faces_that_moved(faces, photos):
    """A recount of seated people encodes nobody (~80 ms a face in a detection process) and keeps
    their verdicts; a face that moved far is not the same seat's, so it is encoded again."""
    gap = np.zeros((640, 300, 3), np.uint8)
    seated = side_by_side(photos["obama2"], photos["biden"], gap)
    # The line through these faces (89 px at row 110, 140 px at row 235), learned by a past run.
    memory = SiteMemory(perspective=Perspective(45, 0.4, 110, 235, 5), learned_at=0)
    identity = SiteIdentity.load([(7, faces["obama"].tobytes())], SETTINGS, last_stranger=0)

    job, counted, first = _count(0, memory, identity, seated)
    assert (job.mode, len(counted.encodings)) == ("full", 2)
    assert counted.result.timings["encode"] > 0
    assert sorted(_verdicts(first).values(), key=str) == [
        ("match", 7, None),
        ("unknown", None, 1),
    ]

    job, counted, again = _count(300, memory, identity, seated)  # recount_every_s passed
    # The perspective the first count refined moves the bands, and a CNN's boxes with them by a
    # few pixels: every face still pairs with one of the last count's, so none is encoded.
    assert job.mode == "full" and len(job.identified) == 2
    assert len(same_faces(counted.result.boxes, job.identified)) == 2
    assert counted.encodings == {} and "encode" not in counted.result.timings
    assert sorted(_verdicts(again).values(), key=str) == sorted(_verdicts(first).values(), key=str)

    away = side_by_side(photos["obama2"], gap, photos["biden"])
    job, counted, moved = _count(600, memory, identity, away)
    (biden,) = counted.encodings
    assert biden[3] > photos["obama2"].shape[1] + gap.shape[1]  # the face that moved
    verdicts = _verdicts(moved)
    assert verdicts.pop(biden) == ("unknown", None, 1)
    assert list(verdicts.values()) == [("match", 7, None)]  # Obama kept his verdict unencoded


def test_a_face_too_small_is_counted_but_not_encoded(faces, photos):
    small = cv2.resize(photos["obama3"], None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    identity = SiteIdentity.load([(7, faces["obama"].tobytes())], SETTINGS, last_stranger=0)
    _, counted, rows = _count(0, SiteMemory(), identity, side_by_side(photos["obama2"], small))
    large, tiny = sorted(counted.result.boxes, key=size, reverse=True)
    assert size(tiny) < SETTINGS.min_face_px <= size(large)
    assert list(counted.encodings) == [large]
    assert _verdicts(rows) == {large: ("match", 7, None)}


def _prepare(engine, tmp_path: Path, stream_url: str, cadence: int = 60) -> int:
    """Site DC1 with Obama (P1, enrolled) and Biden (P2, no consent); a session running now."""
    import_sites(
        engine,
        write_sites(tmp_path / "sites.csv", [site("DC1", stream_url=stream_url)]),
        default_timezone="Asia/Ho_Chi_Minh",
    )
    roster = [person("DC1", "P1"), person("DC1", "P2", consent_biometric="không")]
    import_roster(engine, write_roster(tmp_path / "roster.csv", roster))
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PHOTOS / "obama.jpg", photos / "P1.jpg")
    shutil.copy(PHOTOS / "biden.jpg", photos / "P2.jpg")
    assert enroll_photos(engine, photos).enrolled == ["P1.jpg"]
    now = time.time()
    with transaction(engine) as session:
        create_conference(session, "C", "Test")
        meeting = create_session(
            session, "C", "S", "S", as_datetime(now - 60), as_datetime(now + 600), cadence
        )
        return meeting.id


def _stored(engine) -> list[tuple]:
    with transaction(engine) as session:
        query = (
            select(
                Sample.status,
                Identification.decision,
                RosterEntry.person_code,
                Identification.stranger_label,
                Identification.distance,
            )
            .join(Sample, Identification.sample_id == Sample.id)
            .outerjoin(RosterEntry, Identification.roster_entry_id == RosterEntry.id)
            .order_by(Identification.id)
        )
        return [tuple(row) for row in session.execute(query)]


def test_the_writer_stores_faces_with_their_sample_once(engine, tmp_path: Path):
    session_id = _prepare(engine, tmp_path, "http://127.0.0.1:1/x.jpg")
    with transaction(engine) as session:
        site_id, p1 = session.execute(select(RosterEntry.site_id, RosterEntry.id)).first()
    slot = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    row = {"site_id": site_id, "session_id": session_id, "slot": slot, "status": "ok"}
    face = {"roster_entry_id": p1, "decision": "match", "distance": 0.3, "box": [1, 2, 3, 0]}
    stranger = {"decision": "unknown", "distance": 0.8, "box": [5, 6, 7, 4], "stranger_label": 1}
    writer = SampleWriter(engine)

    async def store_twice() -> list[asyncio.Future]:
        first = writer.add(dict(row), [face, stranger])
        await writer.flush()
        again = writer.add(dict(row), [face])  # re-delivered: stored already, with its faces
        await writer.flush()
        return [first, again]

    assert all(stored.done() for stored in asyncio.run(store_twice()))
    assert (writer.written, writer.duplicates, writer.faces) == (1, 1, {})
    assert [row[:4] for row in _stored(engine)] == [
        ("ok", "match", "P1", None),
        ("ok", "unknown", None, 1),
    ]
    assert last_stranger_labels(engine, session_id) == {site_id: 1}


def _jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def pool():
    """One detection process for both databases: starting one takes seconds."""
    pool = DetectionPool(1)
    yield pool
    pool.close()


async def _sample_once(engine, tmp_path: Path, serve, pool: DetectionPool) -> None:
    frame = _jpeg(side_by_side(read_image(PHOTOS / "obama2.jpg"), read_image(PHOTOS / "biden.jpg")))

    async def snapshot(_request: web.Request) -> web.Response:
        return web.Response(body=frame, content_type="image/jpeg")

    async with serve([web.get("/snapshot.jpg", snapshot)]) as base_url:
        _prepare(engine, tmp_path, f"{base_url}/snapshot.jpg")
        sampling = SamplingSettings(cadence_s=60, detect_wait_s=60, processes=1)
        runtime = EmbeddedRuntime(engine, sampling, pool=pool, identify=SETTINGS)
        await runtime.run(asyncio.Event(), time.time() + 0.5)  # one slot


def test_the_runtime_identifies_enrolled_people_and_numbers_strangers(
    engine, tmp_path, serve, pool
):
    """One frame of a camera showing Obama (enrolled) and Biden (no consent, so a stranger)."""
    asyncio.run(_sample_once(engine, tmp_path, serve, pool))
    stored = _stored(engine)
    assert len(stored) == 2
    assert {row[:4] for row in stored} == {("ok", "match", "P1", None), ("ok", "unknown", None, 1)}
    match = next(row for row in stored if row[1] == "match")
    assert match[4] < SETTINGS.tolerance
    with transaction(engine) as session:
        timings = session.scalar(select(Sample.timings).where(Sample.status == "ok"))
    assert timings["encode"] > 0
