"""A full audit verification (issue 14, finding 7) reads every sample ever stored, minutes at
millions of them: any signed-in user could start it, as often as they liked. Now admins and
auditors only, one at a time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.web.harness import add_users, run, serving
from tests.web.test_api import quick_passwords  # noqa: F401 (a fixture)

VERIFY = "/audit?verify=1"
INTACT = "Mọi mã băm đã được tính lại: chuỗi nguyên vẹn."


def _waits_on_samples(engine) -> bool:
    """Whether some query waits for the samples table (the verification, stuck behind us)."""
    with engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'samples'::regclass"
            )
        )
        return waiting.scalar() > 0


async def _get(web, role: str, path: str = VERIFY) -> tuple[int, str]:
    http, _ = await web.login(role)
    async with http, http.get(path) as response:
        return response.status, await response.text()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_only_admins_and_auditors_verify_and_one_at_a_time(db, engine):
    """The first verification is held on the samples table by a lock this test takes, so the
    second request meets it running."""
    add_users(engine)

    async def scenario():
        async with serving(db) as web:
            status, body = await _get(web, "organizer")
            assert status == 403 and "admins and auditors" in body
            status, page = await _get(web, "organizer", "/audit")
            assert status == 200 and 'id="verify-chain"' not in page
            with engine.connect() as lock:
                lock.execute(text("LOCK TABLE samples IN ACCESS EXCLUSIVE MODE"))
                first = asyncio.create_task(_get(web, "auditor"))
                for _ in range(100):
                    if _waits_on_samples(engine):
                        break
                    await asyncio.sleep(0.05)
                assert _waits_on_samples(engine), "the verification did not start"
                status, body = await _get(web, "admin")
                assert status == 409 and "already" in body
                lock.rollback()
            status, page = await first
            assert status == 200 and INTACT in page
            status, page = await _get(web, "admin")
            assert status == 200 and INTACT in page

    run(scenario())
