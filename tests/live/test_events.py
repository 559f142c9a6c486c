"""The typed live events: checked when built, so a bad event fails at its publisher (in a
worker's log) instead of at every dashboard; and read back from JSON as they were sent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from attendance.live.bus import EventBus
from attendance.live.events import MalformedEvent, SampleEvent, StoreEvent, parse
from attendance.store.models import SampleStatus

SLOT = datetime(2026, 11, 25, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"site": ""}, "site: expected non-empty text"),
        ({"slot": datetime(2026, 11, 25, 1)}, "slot: expected an aware datetime"),
        ({"slot": "2026-11-25T01:00:00Z"}, "slot: expected an aware datetime"),
        ({"status": "melted"}, "status: expected one of"),
        ({"count": True}, "count: expected int"),
        ({"count": 3.0}, "count: expected int"),
        ({"lag_s": float("nan")}, "lag_s: expected float"),
        ({"detect_ms": "150"}, "detect_ms: expected float"),
    ],
)
def test_a_sample_event_is_checked_when_built(fields, problem):
    good = {"site": "S-001", "slot": SLOT, "status": "ok"}
    with pytest.raises(MalformedEvent, match=problem):
        SampleEvent(**(good | fields))


def test_a_status_enum_becomes_its_value_and_json_reads_back_equal():
    event = SampleEvent("S-001", SLOT, SampleStatus.GATED, 12, lag_s=3, detect_ms=None)
    assert type(event.status) is str and event.status == "gated"
    wire = json.loads(json.dumps(event.to_json()))
    assert wire == {
        "kind": "sample",
        "site": "S-001",
        "slot": "2026-11-25T01:00:00+00:00",
        "status": "gated",
        "count": 12,
        "lag_s": 3,
        "detect_ms": None,
    }
    assert parse(wire) == event
    assert parse(wire | {"added_later": 1}) == event  # a newer publisher's field is ignored
    assert parse(StoreEvent("w", None).to_json()) == StoreEvent("w", None)


def test_a_store_event_without_its_writer_is_malformed():
    with pytest.raises(MalformedEvent, match="store: "):
        parse({"kind": "store", "error": "disk full"})
    with pytest.raises(MalformedEvent, match="error: expected text"):
        StoreEvent("w", 42)


def test_the_in_process_bus_hands_the_same_event_to_every_subscriber():
    async def scenario() -> list:
        bus = EventBus()
        streams = [bus.subscribe(), bus.subscribe()]
        first = [asyncio.ensure_future(anext(stream)) for stream in streams]
        await asyncio.sleep(0)
        event = SampleEvent("S-001", SLOT, "ok", 3)
        bus.publish(event)
        heard = await asyncio.gather(*first)
        for stream in streams:
            await stream.aclose()
        return [event, *heard]

    event, *heard = asyncio.run(scenario())
    assert all(one is event for one in heard) and len(heard) == 2
