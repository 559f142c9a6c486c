"""Slots, site status and idempotent sample storage."""

from __future__ import annotations

from datetime import UTC, datetime

from attendance.live.status import StatusBoard
from attendance.store.db import transaction
from attendance.store.models import Region, Site
from attendance.store.samples import record_samples, recorded_slots
from workers.schedule import as_datetime, phase, slot_start


def test_slots_are_stable_and_phased():
    p = phase("DC01001", 30)
    assert 0 <= p < 30 and p == phase("DC01001", 30)
    assert phase("DC01001", 30) != phase("DC01002", 30)
    start = slot_start(1_000_000.0, 30, p)
    assert start <= 1_000_000.0 < start + 30
    assert (start - p) % 30 == 0
    assert slot_start(start + 29.9, 30, p) == start


def test_status_moves_through_live_degraded_stale_offline():
    board = StatusBoard(stale_after=90, offline_after=300)
    assert board.update("A", "ok", 0) == ("live", "ok")
    assert board.update("A", "gated", 30) is None
    assert board.update("A", "dark", 60) == ("degraded", "picture problem: dark")
    assert board.update("A", "timeout", 90)[0] == "degraded"
    assert board.tick(125) == [("A", "stale", "last usable frame 95 s ago (timeout)")]
    assert board.tick(400)[0][1] == "offline"
    assert board.update("A", "ok", 401) == ("live", "ok")
    assert board.counts() == {"live": 1}


def test_a_slot_is_stored_once(engine):
    with transaction(engine) as session:
        region = Region(level="province", name="Huế", path="Huế")
        site = Site(code="A", name="A", province=region, region=region, timezone="Asia/Ho_Chi_Minh")
        session.add(site)
        session.flush()
        site_id = site.id
    slot = datetime(2026, 11, 25, 1, 0, 7, tzinfo=UTC)
    row = {"site_id": site_id, "slot": slot, "status": "ok", "face_count": 3}
    assert record_samples(engine, [row]) == 1
    assert (
        record_samples(
            engine, [row | {"face_count": 9}, row | {"slot": as_datetime(slot.timestamp() + 30)}]
        )
        == 1
    )
    assert recorded_slots(engine, [site_id], slot) == {
        (site_id, slot),
        (site_id, as_datetime(slot.timestamp() + 30)),
    }
