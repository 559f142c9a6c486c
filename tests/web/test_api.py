"""The REST API read and write paths, per role, over the real app on SQLite and PostgreSQL.

`seed` writes a small known world straight into the store: four sites in two provinces (one
disabled), rosters, a finished one-hour session with a sample a minute, and one user per role
(the operator runs HN01).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from attendance import users
from attendance.store.db import transaction
from attendance.store.models import (
    AuditEvent,
    Conference,
    ConferenceSession,
    Headcount,
    Region,
    RosterEntry,
    Sample,
    Site,
)
from attendance.users import create_token
from attendance.web.openapi import DOCUMENT
from tests.web.harness import add_users, run, serving

START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)
SLOTS = 60  # one a minute for the session's hour
ROSTERS = {"HN01": 3, "HN02": 2, "DN01": 2}  # the first person of each is exempt
COUNTS = {"HN01": 2, "DN01": 0}  # what every sample of the site counts; HN02 has none


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its real cost would be most of these tests' time; its strength is not tested."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)


def seed(engine) -> dict[str, str]:
    """The known world; returns an API token per role."""
    with transaction(engine) as session:
        hanoi = _region(session, "Hà Nội")
        ba_dinh = _region(session, "Quận Ba Đình", hanoi)
        da_nang = _region(session, "Đà Nẵng")
        sites = {
            "HN01": _site(session, "HN01", "Điểm cầu Ba Đình", hanoi, ba_dinh),
            "HN02": _site(session, "HN02", "Điểm cầu Hoàn Kiếm", hanoi, hanoi),
            "DN01": _site(session, "DN01", "Điểm cầu Hải Châu", da_nang, da_nang),
            "OFF01": _site(session, "OFF01", "Điểm cầu cũ", da_nang, da_nang, enabled=False),
        }
        for code, size in ROSTERS.items():
            for n in range(size):
                session.add(_person(sites[code], f"{code}-{n}", exempt=n == 0))
        conference = Conference(code="HN", name="Hội nghị")
        session.add(
            ConferenceSession(
                conference=conference,
                code="S1",
                name="Phiên 1",
                starts_at=START,
                ends_at=START + timedelta(hours=1),
                cadence_s=60,
            )
        )
        session.flush()
        for code, count in COUNTS.items():
            session.add_all(_samples(sites[code].id, session_id(session), count))
    add_users(engine, operator_sites=["HN01"])
    with transaction(engine) as session:
        now = datetime.now(UTC)
        return {role: create_token(session, role, None, now) for role in ROLES}


ROLES = ("admin", "organizer", "auditor", "operator")
SESSION_PATHS = {"/api/v1/login", "/api/v1/logout"}  # signing in and out is no write of record


def _region(session, name: str, parent: Region | None = None) -> Region:
    path = f"{parent.path} › {name}" if parent else name
    region = Region(level="district" if parent else "province", name=name, path=path)
    region.parent_id = parent.id if parent else None
    session.add(region)
    session.flush()
    return region


def _site(session, code, name, province, region, enabled=True) -> Site:
    site = Site(
        code=code,
        name=name,
        province_id=province.id,
        region_id=region.id,
        capacity=100,
        timezone="Asia/Ho_Chi_Minh",
        enabled=enabled,
        calibration_factor=1.0,
    )
    session.add(site)
    session.flush()
    return site


def _person(site: Site, code: str, exempt: bool) -> RosterEntry:
    return RosterEntry(
        site_id=site.id,
        person_code=code,
        full_name="Nguyễn Văn An",
        unit="Chi bộ 1",
        exempt=exempt,
        consent_biometric=not exempt,
    )


def _samples(site_id: int, session: int, count: int) -> list[Sample]:
    """A sample a minute; the 31st could not grab a frame."""
    return [
        Sample(
            site_id=site_id,
            session_id=session,
            slot=START + timedelta(minutes=n),
            captured_at=START + timedelta(minutes=n, seconds=2),
            status="no_frame" if n == 30 else "ok",
            face_count=None if n == 30 else count,
            detector=None if n == 30 else {"mode": "full"},
            error="timeout after 5 s" if n == 30 else None,
        )
        for n in range(SLOTS)
    ]


def session_id(session) -> int:
    return session.scalar(select(ConferenceSession.id))


def fingerprint(engine) -> tuple:
    """What any write would change: headcounts, audit events, calibration factors."""
    with transaction(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Headcount)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
            tuple(session.scalars(select(Site.calibration_factor).order_by(Site.code))),
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(http, path: str, status: int = 200, **kwargs):
    async with http.get(path, **kwargs) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def post_json(http, path: str, body, status: int, **kwargs):
    async with http.post(path, json=body, **kwargs) as response:
        assert response.status == status, await response.text()
        return await response.json()


def codes(page: dict) -> list[str]:
    return [item.get("code") or item.get("site") for item in page["items"]]


def test_sites_sessions_and_results_read_by_an_organizer(db, engine):
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)

    async def scenario():
        async with serving(db) as web, web.client() as http:
            auth = bearer(tokens["organizer"])

            async def get(path, **params):
                return await get_json(http, path, params=params, headers=auth)

            everything = await get("/api/v1/sites")
            assert codes(everything) == ["DN01", "HN01", "HN02", "OFF01"]
            assert (everything["total"], everything["limit"], everything["offset"]) == (4, 100, 0)
            hn01 = everything["items"][1]
            assert hn01["region"] == "Hà Nội › Quận Ba Đình" and hn01["province"] == "Hà Nội"
            assert (hn01["registered"], hn01["exempt"], hn01["expected"]) == (3, 1, 2)
            assert hn01["capacity"] == 100 and hn01["enabled"] is True
            assert everything["items"][3]["status"] == "disabled"
            for q in ("ba dinh", "Ba Đình", "BA ĐÌNH"):
                assert codes(await get("/api/v1/sites", q=q)) == ["HN01"]
            assert codes(await get("/api/v1/sites", q="hn0")) == ["HN01", "HN02"]
            assert codes(await get("/api/v1/sites", province="ha noi")) == ["HN01", "HN02"]
            assert codes(await get("/api/v1/sites", province="Đà Nẵng", q="hai chau")) == ["DN01"]
            assert codes(await get("/api/v1/sites", status="disabled")) == ["OFF01"]
            live_status = everything["items"][0]["status"]
            assert "DN01" in codes(await get("/api/v1/sites", status=live_status))
            page = await get("/api/v1/sites", limit="2", offset="1")
            assert codes(page) == ["HN01", "HN02"] and page["total"] == 4

            site = await get("/api/v1/sites/HN01")
            assert site["calibration_factor"] == 1.0 and site["expected"] == 2
            last = START + timedelta(minutes=SLOTS - 1)
            assert site["latest_sample"]["slot"] == last.isoformat()
            assert (site["latest_sample"]["status"], site["latest_sample"]["face_count"]) == (
                "ok",
                2,
            )
            assert (await get("/api/v1/sites/HN02"))["latest_sample"] is None

            samples = await get("/api/v1/sites/HN01/samples", session=str(sid), limit="30")
            assert samples["total"] == SLOTS and len(samples["items"]) == 30
            slots = [s["slot"] for s in samples["items"]]
            assert slots == sorted(slots, reverse=True)
            failed = samples["items"][-1]  # the 31st minute, 30 slots back
            assert (failed["status"], failed["face_count"], failed["mode"]) == (
                "no_frame",
                None,
                None,
            )
            assert failed["error"] == "timeout after 5 s"
            assert samples["items"][0]["mode"] == "full"

            sessions = await get("/api/v1/sessions")
            assert sessions["total"] == 1
            one = await get(f"/api/v1/sessions/{sid}")
            assert one == sessions["items"][0]
            assert (one["conference"], one["code"], one["cadence_s"]) == ("HN", "S1", 60)
            assert one["starts_at"] == START.isoformat()

            assert (await get(f"/api/v1/sessions/{sid}/estimates"))["total"] == 0
            results = await get(f"/api/v1/sessions/{sid}/reconciliation")
            by_code = {r["code"]: r for r in results["items"]}
            assert list(by_code) == ["DN01", "HN01", "HN02"]  # the disabled site is not counted
            assert by_code["HN01"]["status"] == "ok" and by_code["HN01"]["present"] == 2
            assert by_code["DN01"]["status"] == "under" and by_code["HN02"]["status"] == "no_data"
            under = await get(f"/api/v1/sessions/{sid}/reconciliation", status="under")
            assert codes(under) == ["DN01"]
            hanoi = await get(f"/api/v1/sessions/{sid}/reconciliation", province="HA NOI")
            assert codes(hanoi) == ["HN01", "HN02"]
            assert (await get(f"/api/v1/sessions/{sid}/estimates"))["total"] == 0  # a read
            path = f"/api/v1/sessions/{sid}/reconciliation"
            assert (await post_json(http, path, None, 200, headers=auth))["total"] == 3
            estimates = await get(f"/api/v1/sessions/{sid}/estimates")
            assert codes(estimates) == ["DN01", "HN01"]  # stored by the POST
            assert estimates["items"][1]["raw"] == 2.0 and estimates["items"][1]["factor"] == 1.0

            roster = await get("/api/v1/sites/HN01/roster", limit="2")
            assert roster["total"] == 3 and len(roster["items"]) == 2
            assert roster["items"][0] == {
                "person_code": "HN01-0",
                "full_name": "Nguyễn Văn An",
                "unit": "Chi bộ 1",
                "exempt": True,
                "exempt_reason": None,
                "consent_biometric": False,
            }
            assert (await get("/api/v1/sites/HN01/headcounts"))["items"] == []

    run(scenario())


def test_operator_records_at_its_own_site_and_sees_no_other(db, engine):
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)

    async def scenario():
        async with serving(db) as web:
            http, csrf = await web.login("operator")
            async with http:
                sites = await get_json(http, "/api/v1/sites")
                assert codes(sites) == ["HN01"] and sites["total"] == 1
                for path in ("", "/samples", "/roster", "/headcounts"):
                    error = await get_json(http, f"/api/v1/sites/DN01{path}", 404)
                    assert error["error"]["message"] == "no site with code 'DN01'"
                at = START + timedelta(minutes=10)
                body = {"count": 3, "at": at.isoformat(), "note": " đếm lúc giải lao "}
                headers = {"X-CSRF-Token": csrf}
                await post_json(http, "/api/v1/sites/DN01/headcounts", body, 404, headers=headers)
                path = "/api/v1/sites/HN01/headcounts"
                recorded = await post_json(http, path, body, 201, headers=headers)
                assert recorded["factor"] == 1.5 and "1.5" in recorded["message"]
                headcount = recorded["headcount"]
                assert (headcount["count"], headcount["counted_by"]) == (3, "operator")
                assert headcount["note"] == "đếm lúc giải lao" and headcount["session_id"] == sid
                assert headcount["counted_at"] == at.isoformat()
                listed = await get_json(http, "/api/v1/sites/HN01/headcounts")
                assert listed["items"] == [headcount]
                site = await get_json(http, "/api/v1/sites/HN01")
                assert site["calibration_factor"] == 1.5
                results = await get_json(http, f"/api/v1/sessions/{sid}/reconciliation")
                assert codes(results) == ["HN01"] and results["items"][0]["present"] == 3
                estimates = await get_json(http, f"/api/v1/sessions/{sid}/estimates")
                assert estimates["total"] == 0, "an operator's read stored estimates"
            async with web.client() as script:  # a later one without a time: counted now
                auth = bearer(tokens["operator"])
                later = await post_json(script, path, {"count": 0}, 201, headers=auth)
                assert later["factor"] is None and later["headcount"]["session_id"] is None

    run(scenario())
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Headcount)) == 2
        actions = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "headcount"))
        assert list(actions) == ["operator", "operator"]


def test_auditor_reads_everything_and_writes_nothing(db, engine):
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)
    writes = [
        (method, path.format(code="HN01", id=sid))
        for path, operations in DOCUMENT["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete") and path not in SESSION_PATHS
    ]
    assert writes, "no write endpoint documented"
    before = fingerprint(engine)

    async def scenario():
        async with serving(db) as web:
            http, csrf = await web.login("auditor")
            async with http:
                assert (await get_json(http, "/api/v1/sites"))["total"] == 4
                assert (await get_json(http, "/api/v1/sites/DN01/roster"))["total"] == 2
                for method, path in writes:
                    body = {"count": 5}
                    headers = {"X-CSRF-Token": csrf}
                    async with http.request(method, path, json=body, headers=headers) as r:
                        assert r.status == 403, (method, path, await r.text())
                        assert "auditor" in (await r.json())["error"]["message"]
            async with web.client() as script:
                for method, path in writes:
                    async with script.request(
                        method, path, json={"count": 5}, headers=bearer(tokens["auditor"])
                    ) as r:
                        assert r.status == 403, (method, path)

    run(scenario())
    assert fingerprint(engine) == before
