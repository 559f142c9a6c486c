"""Presence per person: matched slots, gated samples carrying the last count's people, each
site's cadence, strangers per site; only the session asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attendance.results.presence import PersonPresence, presence
from attendance.store.db import transaction
from attendance.store.models import (
    Conference,
    ConferenceSession,
    Identification,
    Region,
    RosterEntry,
    Sample,
    Site,
)

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def _slot(n: int, cadence: int = 30) -> datetime:
    return T0 + timedelta(seconds=n * cadence)


def _world(session):
    region = Region(level="province", name="Hà Nội", path="Hà Nội")
    sites = [
        Site(code=code, name=code, province=region, region=region, timezone="Asia/Ho_Chi_Minh")
        for code in ("A", "B")
    ]
    sites[1].cadence_s = 60
    conference = Conference(code="C", name="C")
    meeting, other = (
        ConferenceSession(
            conference=conference,
            code=code,
            name=code,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=3),
        )
        for code in ("S1", "S2")
    )
    people = [
        RosterEntry(site=sites[i], person_code=f"P{n}", full_name=f"P{n}")
        for n, i in ((1, 0), (2, 0), (3, 1))
    ]
    session.add_all([*sites, meeting, other, *people])
    session.flush()
    return sites, meeting, other, people


def _sample(session, site, meeting, slot, status, faces=()):
    sample = Sample(site_id=site.id, session_id=meeting.id, slot=slot, status=status)
    session.add(sample)
    session.flush()
    for entry, decision, stranger in faces:
        session.add(
            Identification(
                sample_id=sample.id,
                roster_entry_id=entry.id if entry else None,
                decision=decision,
                distance=0.4,
                box=[0, 10, 10, 0],
                stranger_label=stranger,
            )
        )


def test_presence_per_person_and_strangers_per_site(engine):
    with transaction(engine) as session:
        (a, b), meeting, other, (p1, p2, p3) = _world(session)
        _sample(
            session,
            a,
            meeting,
            _slot(0),
            "ok",
            [(p1, "match", None), (None, "unknown", 1), (p2, "ambiguous", None)],
        )
        _sample(session, a, meeting, _slot(1), "gated")  # still p1: the frame did not change
        _sample(session, a, meeting, _slot(2), "no_frame")  # nobody seen
        _sample(session, a, meeting, _slot(3), "gated")
        _sample(session, a, meeting, _slot(4), "ok", [(p2, "match", None), (None, "unknown", 2)])
        _sample(session, a, meeting, _slot(5), "ok")  # the hall emptied
        _sample(session, a, meeting, _slot(6), "gated")
        _sample(session, b, meeting, _slot(0, 60), "ok", [(p3, "match", None), (p3, "match", None)])
        _sample(session, a, other, _slot(100), "ok", [(p1, "match", None), (None, "unknown", 9)])
        ids = (meeting.id, a.id, b.id, p1.id, p2.id, p3.id)
    meeting_id, a_id, b_id, p1_id, p2_id, p3_id = ids

    with transaction(engine) as session:
        everyone = presence(session, meeting_id)
        only_b = presence(session, meeting_id, [b_id])
        slower = presence(session, meeting_id, [a_id], default_cadence_s=60)

    assert everyone.people == {
        p1_id: PersonPresence(_slot(0), _slot(3), 1.5),  # slots 0, 1 and 3 at 30 s
        p2_id: PersonPresence(_slot(4), _slot(4), 0.5),  # ambiguous at slot 0 does not count
        p3_id: PersonPresence(_slot(0), _slot(0), 1.0),  # twice in one slot, site B's 60 s
    }
    assert everyone.strangers == {a_id: 2, b_id: 0}
    assert only_b.people == {p3_id: PersonPresence(_slot(0), _slot(0), 1.0)}
    assert only_b.strangers == {b_id: 0}
    assert slower.people[p1_id].minutes == 3.0


def test_a_session_without_identifications_has_no_presence(engine):
    with transaction(engine) as session:
        (a, _), meeting, _, _ = _world(session)
        _sample(session, a, meeting, _slot(0), "ok")
        meeting_id = meeting.id
    with transaction(engine) as session:
        result = presence(session, meeting_id)
    assert (result.people, result.strangers) == ({}, {})
