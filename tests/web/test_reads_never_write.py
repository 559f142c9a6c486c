"""Reads never write (issue 14, finding 5): an auditor's or a scoped operator's GETs of the
reconciliation, the pages and the PDF once stored estimates for every site, audited as the
server's OS account. Now only a writer's POST stores them, audited as that web user."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from attendance.store.audit_log import canonical_json, chain_head
from attendance.store.db import transaction
from attendance.store.models import AuditEvent, Estimate
from tests.web.harness import run, serving
from tests.web.test_api import quick_passwords, seed, session_id  # noqa: F401 (a fixture)

READERS = ("auditor", "operator")


def stored_record(engine) -> tuple:
    """The estimates (count and digest of every row) and the audit chain (length and head)."""
    with transaction(engine) as session:
        rows = session.execute(select(Estimate).order_by(Estimate.id)).scalars().all()
        head, events = chain_head(session)
    figures = [[row.site_id, row.session_id, row.raw, row.calibrated, row.quality] for row in rows]
    digest = hashlib.sha256(canonical_json(figures).encode()).hexdigest()
    return len(rows), digest, events, head


def reads(sid: int) -> list[str]:
    return [
        f"/api/v1/sessions/{sid}/reconciliation",
        f"/api/v1/sessions/{sid}/estimates",
        f"/audit?session={sid}",
        f"/audit/sites/HN01?session={sid}",
        f"/audit/sites/HN01/report.pdf?session={sid}",
        f"/sites/HN01?session={sid}",
    ]


def test_reads_store_nothing_and_a_writer_is_audited_as_itself(db, engine):
    seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)
    before = stored_record(engine)

    async def scenario():
        async with serving(db) as web:
            for reader in READERS:
                http, _ = await web.login(reader)
                async with http:
                    for path in reads(sid):
                        async with http.get(path) as response:
                            assert response.status == 200, (reader, path, await response.text())
            assert stored_record(engine) == before, "a read changed estimates or the chain"
            http, csrf = await web.login("organizer")
            async with http:
                path = f"/api/v1/sessions/{sid}/reconciliation"
                async with http.post(path, headers={"X-CSRF-Token": csrf}) as response:
                    assert response.status == 200, await response.text()

    run(scenario())
    estimates, _, events, _ = stored_record(engine)
    assert estimates == 2, "the writer's POST stored the estimates of both sites with samples"
    with transaction(engine) as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert events == before[2] + 1
    assert (last.action, last.actor) == ("estimates.change", "organizer")
