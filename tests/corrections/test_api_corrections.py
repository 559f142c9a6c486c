"""Corrections through the REST API: organizers and admins write, auditors and operators are
refused before anything is read or changed, bad values are 400, unknown records 404; the list
shows each reader only the sites it may see."""

from __future__ import annotations

from sqlalchemy import func, select

from attendance.store.db import transaction
from attendance.store.models import AuditEvent, Correction
from tests.web.harness import run, serving
from tests.web.test_api import (
    bearer,
    get_json,
    post_json,
    quick_passwords,  # noqa: F401 (autouse: applies here too)
    seed,
    session_id,
)

REASON = "Đếm lại tại hội trường: hai người ngồi ngoài khung hình"


def test_organizer_corrects_and_both_figures_show(db, engine):
    tokens = seed(engine)  # HN01: expected 2, every sample counts 2
    with transaction(engine) as session:
        sid = session_id(session)
    path = f"/api/v1/sessions/{sid}/corrections"

    async def scenario():
        async with serving(db) as web:
            http, csrf = await web.login("organizer")
            async with http:
                body = {"site": "HN01", "value": 3, "reason": REASON}
                made = await post_json(http, path, body, 201, headers={"X-CSRF-Token": csrf})
                assert (made["site"], made["original_value"], made["value"]) == ("HN01", 2.0, 3.0)
                assert (made["reason"], made["corrected_by"]) == (REASON, "organizer")
                listed = await get_json(http, path)
                assert listed["items"] == [made] and listed["total"] == 1
                results = await get_json(http, f"/api/v1/sessions/{sid}/reconciliation")
                hn01 = next(r for r in results["items"] if r["code"] == "HN01")
                assert (hn01["estimated_raw"], hn01["calibrated"]) == (2.0, 2.0)
                assert (hn01["corrected"], hn01["present"], hn01["status"]) == (3.0, 3, "over")
                assert hn01["correction_reason"] == REASON
            async with web.client() as script:
                body = {"site": "DN01", "value": 1, "reason": "đếm tay"}
                await post_json(script, path, body, 201, headers=bearer(tokens["admin"]))
                mine = await get_json(script, path, headers=bearer(tokens["operator"]))
                assert [c["site"] for c in mine["items"]] == ["HN01"]
                everyone = await get_json(script, path, headers=bearer(tokens["auditor"]))
                assert [c["site"] for c in everyone["items"]] == ["DN01", "HN01"]

    run(scenario())
    with transaction(engine) as session:
        actors = session.scalars(
            select(AuditEvent.actor)
            .where(AuditEvent.action == "correction")
            .order_by(AuditEvent.id)
        )
        assert list(actors) == ["organizer", "admin"]


def test_refusals_change_nothing(db, engine):
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)
    path = f"/api/v1/sessions/{sid}/corrections"
    good = {"site": "HN01", "value": 3, "reason": REASON}

    async def scenario():
        async with serving(db) as web, web.client() as script:
            for role in ("auditor", "operator"):
                answer = await post_json(script, path, good, 403, headers=bearer(tokens[role]))
                assert role in answer["error"]["message"]
            organizer = bearer(tokens["organizer"])
            for body, status, message in (
                ({**good, "value": -1}, 400, "value: expected a whole number of people 0–300000"),
                ({**good, "value": 2.5}, 400, "value: expected a whole number of people 0–300000"),
                ({**good, "value": 301}, 400, "more than 3×"),
                ({**good, "value": "3"}, 400, "value: expected a whole number of people 0–300000"),
                ({**good, "value": True}, 400, "value: expected a whole number of people 0–300000"),
                ({**good, "reason": " "}, 400, "reason: empty"),
                ({**good, "reason": None}, 400, "reason: expected a string"),
                ({**good, "by": "someone"}, 400, "unknown field(s): by"),
                ({**good, "site": "OFF01"}, 400, "disabled"),
                ({**good, "site": "NOPE"}, 404, "no site with code 'NOPE'"),
            ):
                answer = await post_json(script, path, body, status, headers=organizer)
                assert message in answer["error"]["message"], (body, answer)
            missing = "/api/v1/sessions/99999/corrections"
            await post_json(script, missing, good, 404, headers=organizer)
            await get_json(script, missing, 404, headers=organizer)

    run(scenario())
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Correction)) == 0
        events = select(func.count()).where(AuditEvent.action == "correction")
        assert session.scalar(events) == 0
