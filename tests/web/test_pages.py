"""The dashboard's pages through the real app: the login form, redirects, what each role sees on
each page, operator scope, the language switch; and the site page's chart and face geometry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from attendance.store.models import ConferenceSession, FaceEncoding, RosterEntry, Site
from attendance.store.samples import record_samples
from attendance.web.pages_chart import chart, faces, nice_ceiling
from tests.helpers import person, site, write_roster, write_sites
from tests.web.harness import PASSWORD, add_users, run, serving

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
STARTS_AT = NOW - timedelta(minutes=30)
SITES = {
    "HN-001": {"site_name": "Điểm cầu Phường Phúc Xá"},
    "HN-002": {"site_name": "Điểm cầu Quận Ba Đình"},
    "DN-001": {
        "site_name": "Điểm cầu Đà Nẵng",
        "province": "Đà Nẵng",
        "district": "Quận Hải Châu",
        "commune": "Phường Hải Châu I",
    },
}
BOX = [100, 220, 220, 100]  # top, right, bottom, left
# Signing in costs ~0.5 s (argon2): tests that only exercise the web layer run on SQLite alone.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def build_world(cli, db: str, engine, tmp_path: Path) -> dict[str, int]:
    """Three sites in two provinces, HN-001 with a roster of 10 (one exempt, three enrolled),
    a session running now with 20 minutes of HN-001 samples, and a user per role (the operator
    at HN-001). Returns site ids by code and the session's id under "session"."""
    sites = write_sites(tmp_path / "sites.csv", [site(c, **f) for c, f in SITES.items()])
    people = [
        person("HN-001", f"P{n:02d}", full_name=f"Trần Thị {n:02d}", exempt="x" if n == 9 else "")
        for n in range(10)
    ]
    roster = write_roster(tmp_path / "roster.csv", people)
    for args in (
        ("sites", "import", sites),
        ("roster", "import", roster),
        ("conference", "create", "TW10", "--name", "Hội nghị Trung ương 10"),
        ("session", "create", "S1", "--conference", "TW10", "--cadence", "60", "--start",
         STARTS_AT.isoformat(), "--end", (NOW + timedelta(hours=2)).isoformat()),
    ):  # fmt: skip
        result = cli(*args, "--db", db)
        assert result.code == 0, result.err
    ids = _ids(engine)
    _enrol(engine, ids, ["P00", "P01", "P02"])
    _samples(engine, ids)
    add_users(engine, operator_sites=["HN-001"])
    return ids


def _ids(engine) -> dict[str, int]:
    with engine.connect() as connection:
        ids = dict(connection.execute(select(Site.code, Site.id)).all())
        people = dict(connection.execute(select(RosterEntry.person_code, RosterEntry.id)).all())
        ids["session"] = connection.scalar(select(ConferenceSession.id))
    return ids | {f"person:{code}": entry for code, entry in people.items()}


def _enrol(engine, ids: dict[str, int], codes: list[str]) -> None:
    rows = [
        {"roster_entry_id": ids[f"person:{c}"], "encoding": b"\0" * 1024, "photo_sha256": c * 16}
        for c in codes
    ]
    with engine.begin() as connection:
        connection.execute(insert(FaceEncoding), rows)


def _samples(engine, ids: dict[str, int]) -> None:
    """One sample a minute for 20 minutes, a failed grab at minute 10; P01 seen in each count."""
    rows, faces_by_slot = [], {}
    for minute in range(20):
        slot = STARTS_AT + timedelta(minutes=minute)
        failed = minute == 10
        rows.append(
            {
                "site_id": ids["HN-001"],
                "session_id": ids["session"],
                "slot": slot,
                "status": "timeout" if failed else "ok",
                "face_count": None if failed else 7,
                "boxes": None if failed else [BOX] * 7,
                "detector": {"flags": []},
            }
        )
        if not failed:
            match = {"roster_entry_id": ids["person:P01"], "decision": "match", "distance": 0.4}
            faces_by_slot[ids["HN-001"], slot] = [match]
    record_samples(engine, rows, faces_by_slot)


async def form_login(web, username: str, password: str = PASSWORD, next_path: str = "/"):
    http = web.client()
    form = {"username": username, "password": password, "next": next_path}
    response = await http.post("/login", data=form, allow_redirects=False)
    return http, response


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', html).group(1)


@sqlite_only
def test_login_form_redirects_and_logout(cli, db, engine, tmp_path):
    """Pages send strangers to the form and back where they were going; a wrong password shows
    the form again with the message; sign-out needs the CSRF field and ends the login."""
    build_world(cli, db, engine, tmp_path)

    async def scenario():
        async with serving(db) as web, web.client() as anon:
            for path in ("/", "/sites", "/sites/HN-001"):
                async with anon.get(path, allow_redirects=False) as r:
                    assert r.status == 302 and r.headers["Location"].startswith("/login?next=")
            async with anon.get("/login?next=/sites") as r:
                page = await r.text()
                assert r.status == 200 and 'name="password"' in page and "Đăng nhập" in page
                assert 'value="/sites"' in page
            http, r = await form_login(web, "organizer", "wrong password")
            async with http:
                assert r.status == 401 and "Sai tên đăng nhập hoặc mật khẩu" in await r.text()
            http, r = await form_login(web, "organizer", next_path="//evil.example/")
            async with http:
                assert r.status == 303 and r.headers["Location"] == "/"
            http, r = await form_login(web, "organizer", next_path="/sites/HN-001")
            async with http:
                assert r.status == 303 and r.headers["Location"] == "/sites/HN-001"
                async with http.get("/login", allow_redirects=False) as signed:
                    assert signed.status == 302 and signed.headers["Location"] == "/"
                async with http.get("/") as home:
                    csrf = csrf_of(await home.text())
                async with http.post("/logout", data={}, allow_redirects=False) as out:
                    assert out.status == 403
                form = {"csrf": csrf}
                async with http.post("/logout", data=form, allow_redirects=False) as out:
                    assert out.status == 303 and out.headers["Location"] == "/login"
                async with http.get("/", allow_redirects=False) as home:
                    assert home.status == 302

    run(scenario())


def test_each_role_sees_its_pages(cli, db, engine, tmp_path):
    """Overview, site table and site page for every role; the headcount form for those who may
    record (never auditors), operators confined to their sites, a session chosen by id."""
    ids = build_world(cli, db, engine, tmp_path)

    async def scenario():
        async with serving(db) as web:
            for role in ("admin", "organizer", "operator", "auditor"):
                http, r = await form_login(web, role)
                async with http:
                    assert r.status == 303
                    await _check_role(http, role, ids)

    run(scenario())


async def _check_role(http, role: str, ids: dict[str, int]) -> None:
    async with http.get("/") as r:
        page = await r.text()
        assert r.status == 200 and "Tổng quan toàn quốc" in page and "/static/overview.js" in page
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        scoped = "Có mặt tại các điểm cầu của bạn" in page
        assert scoped == (role == "operator")
        assert f"{role} · " in page and csrf_of(page)
    async with http.get("/sites") as r:
        page = await r.text()
        assert r.status == 200 and 'id="sites-table"' in page and 'data-key="province"' in page
    async with http.get("/sites/HN-001") as r:
        page = await r.text()
    assert r.status == 200 and "Điểm cầu Phường Phúc Xá" in page
    assert "TW10/S1" in page and "đang diễn ra" in page  # the running session is chosen
    assert page.count('<polyline class="count"') == 2  # broken at the failed grab
    assert page.count('<rect class="face"') == 7 and "640×360" in page
    assert "Ảnh minh chứng" in page  # the evidence image's placeholder
    numbers = re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", page)
    assert ("Đăng ký", "10") in numbers and ("Phải dự", "9") in numbers
    assert ("Có mặt (ước tính)", "7") in numbers
    assert "Trần Thị 01" in page  # identified by face: P01 only
    assert re.search(r"Vắng \(chưa nhận diện được\).*Trần Thị 00", page, re.S)
    assert ('id="headcount"' in page) == (role != "auditor")
    async with http.get(f"/sites/HN-001?session={ids['session']}") as r:
        assert r.status == 200 and "<polyline" in await r.text()
    async with http.get("/sites/HN-001?session=99999") as r:
        assert r.status == 404 and "Không tìm thấy" in await r.text()
    async with http.get("/sites/DN-001") as r:
        assert r.status == (404 if role == "operator" else 200)
        page = await r.text()
    if role != "operator":
        assert "Phiên này chưa có mẫu nào" in page and "Chưa có mẫu đếm được" in page
    async with http.get("/sites/NOPE") as r:
        assert r.status == 404


@sqlite_only
def test_language_switch_is_remembered(cli, db, engine, tmp_path):
    build_world(cli, db, engine, tmp_path)

    async def scenario():
        async with serving(db) as web:
            http, _ = await form_login(web, "organizer")
            async with http:
                async with http.get("/sites/HN-001?lang=en") as r:
                    page = await r.text()
                    assert '<html lang="en">' in page and "Reconciliation with the roster" in page
                    assert 'href="/sites/HN-001?lang=vi"' in page
                async with http.get("/") as r:
                    assert "National overview" in await r.text()
                async with http.get("/?lang=xx") as r:  # unknown: the remembered one stays
                    assert "National overview" in await r.text()
                async with http.get("/?lang=vi") as r:
                    assert "Tổng quan toàn quốc" in await r.text()
                async with http.get("/sites") as r:
                    assert "Danh sách điểm cầu" in await r.text()

    run(scenario())


def test_chart_breaks_at_gaps_and_marks_failures():
    start = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    samples = [
        (start + timedelta(minutes=m), status, count)
        for m, status, count in (
            (0, "ok", 10),
            (1, "gated", 12),
            (2, "timeout", None),
            (3, "deferred", None),
            (4, "ok", 45),
        )
    ]
    drawn = chart(samples, start, start + timedelta(minutes=10), 40, "Asia/Ho_Chi_Minh")
    assert [len(line) for line in drawn.lines] == [2, 1]
    assert len(drawn.failures) == 1  # the timeout; deferred is no failure
    assert drawn.y_max == 50 and [v for _, v in drawn.y_ticks] == [0, 25, 50]
    assert [label for _, label in drawn.x_ticks] == ["08:00", "08:05", "08:10"]
    left, top, right, bottom = drawn.plot
    assert drawn.lines[0][0] == (left, bottom - 10 / 50 * (bottom - top))
    assert drawn.lines[1][0][0] == left + 0.4 * (right - left)
    assert [nice_ceiling(v) for v in (1, 7, 10, 11, 260, 1001)] == [1, 10, 10, 20, 500, 2000]


def test_faces_use_the_frame_size_when_known():
    assert faces([BOX], {"size": [800, 600]}).width == 800
    guessed = faces([[10, 1500, 90, 1400]], {"flags": []})
    assert (guessed.width, guessed.height, guessed.estimated) == (1920, 1080, True)
    assert guessed.boxes == [(1400, 10, 100, 80)]
    assert faces(None, None).boxes == []


def test_pages_answer_impossible_sites_and_sessions_as_unknown(cli, db, engine, tmp_path):
    """A site code with a NUL (PostgreSQL refuses it) or past any length, and a session id past
    any key, are an unknown site or session to a page: 404, never a 500 from the driver."""
    build_world(cli, db, engine, tmp_path)
    paths = [
        "/sites/HN%0001",
        f"/sites/{'H' * 200}",
        f"/sites/HN-001?session={'9' * 30}",
        "/audit/sites/HN%0001",
        f"/audit/sites/HN-001?session={2**63}",
    ]

    async def scenario():
        async with serving(db) as web:
            http, signed = await form_login(web, "admin")
            async with http:
                assert signed.status == 303
                for path in paths:
                    async with http.get(path) as page:
                        assert page.status == 404, (path, page.status)

    run(scenario())
