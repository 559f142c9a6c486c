"""The auditor's pages through the real app, for every role: the site table of a session with
its reconciliation, corrections and the audit chain's head; a site's sample log with gaps,
status changes and evidence; its PDF; operators confined to their sites."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from attendance.config import Settings
from attendance.results.corrections import correct
from attendance.store.audit_log import chain_head
from attendance.store.db import transaction
from attendance.store.models import ConferenceSession, Sample
from attendance.store.samples import record_samples
from tests.web.harness import run, serving
from tests.web.test_api import quick_passwords  # noqa: F401 (autouse: applies here too)
from tests.web.test_pages import STARTS_AT, build_world, form_login

EVIDENCE = "ab" * 32
REASON = "Hai người ngồi khuất sau cột"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_role_reads_the_audit_pages_within_its_scope(cli, db, engine, tmp_path):
    ids = build_world(cli, db, engine, tmp_path)  # HN-001: 20 samples, minute 10 failed
    # …and a 21st with its evidence image.
    evidence = {"site_id": ids["HN-001"], "session_id": ids["session"], "status": "ok"}
    evidence |= {"slot": STARTS_AT + timedelta(minutes=20), "face_count": 7}
    record_samples(engine, [evidence | {"evidence_sha256": EVIDENCE}])
    with transaction(engine) as session:
        running = session.scalar(select(ConferenceSession))
        correct(session, running, "HN-001", 9, REASON, "organizer", Settings(), datetime.now(UTC))
    with transaction(engine) as session:
        head, events = chain_head(session)

    async def scenario():
        async with serving(db) as web:
            for role in ("admin", "organizer", "operator", "auditor"):
                http, r = await form_login(web, role)
                async with http:
                    assert r.status == 303
                    await _check(http, role, ids, head, events)
            with transaction(engine) as session:  # behind the application's back
                session.execute(update(Sample).where(Sample.id == 3).values(face_count=70))
            http, _ = await form_login(web, "auditor")
            async with http, http.get("/audit?verify=1") as r:
                chain = re.search(r'id="chain">(.*?)</p>', await r.text(), re.S).group(1)
            assert "Chuỗi bị sửa: sample 3:" in chain

    run(scenario())


async def _check(http, role: str, ids: dict[str, int], head: str, events: int) -> None:
    scoped = role == "operator"
    async with http.get("/audit") as r:
        page = await r.text()
    assert r.status == 200 and 'href="/audit" aria-current="page"' in page
    assert f"Chuỗi nhật ký kiểm toán: {events} sự kiện, mã băm cuối {head}" in page
    rows = dict(re.findall(r'<tr data-code="([^"]+)">(.*?)</tr>', page, re.S))
    assert sorted(rows) == (["HN-001"] if scoped else ["DN-001", "HN-001", "HN-002"])
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows["HN-001"], re.S)
    assert [c.strip() for c in cells[3:]][:4] == ["9", "7", "9", "9"]  # expected, estimate,
    assert "Đạt" in cells[7] and cells[8] == "1"  # corrected, present; status; corrections
    async with http.get("/audit?province=da+nang") as r:
        page = await r.text()
    assert r.status == 200 and ("DN-001" in page) != scoped and 'data-code="HN-001"' not in page
    async with http.get("/audit?session=99999") as r:
        assert r.status == 404
    if role == "auditor":  # the full check, on request
        async with http.get(f"/audit?session={ids['session']}&verify=1") as r:
            page = await r.text()
        chain = re.search(r'id="chain">(.*?)</p>', page, re.S).group(1)
        assert r.status == 200 and "Mọi mã băm đã được tính lại: chuỗi nguyên vẹn." in chain

    async with http.get(f"/audit/sites/HN-001?session={ids['session']}") as r:
        page = await r.text()
    assert r.status == 200 and "Nhật ký điểm cầu HN-001" in page
    numbers = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", page))
    assert (numbers["Ước tính theo hệ số"], numbers["Số hiệu chỉnh"]) == ("7", "9")
    assert numbers["Có mặt (số dùng để đối chiếu)"] == "9"
    assert REASON in page and "organizer" in page
    assert page.count('class="sample') == 21 and page.count('class="gap"') == 1  # not since
    assert page.count(" changed") == 2  # into the failed grab and out of it
    assert f'src="/evidence/{EVIDENCE}.jpg"' in page
    assert head in page
    async with http.get(f"/audit/sites/HN-001/report.pdf?session={ids['session']}") as r:
        assert r.status == 200 and r.content_type == "application/pdf"
        assert (await r.read()).startswith(b"%PDF")
    async with http.get("/audit/sites/HN-001?lang=en") as r:
        assert "Sample log" in await r.text()
    async with http.get("/audit/sites/HN-001?lang=vi") as r:
        assert r.status == 200
    for path in ("/audit/sites/DN-001", "/audit/sites/DN-001/report.pdf"):
        async with http.get(path) as r:
            assert r.status == (404 if scoped else 200), path
    async with http.get("/audit/sites/NOPE") as r:
        assert r.status == 404
