"""An unknown user name takes as long to refuse as a wrong password (issue 14, finding 3): the
time of a reply must not tell which user names exist. Argon2 at its real cost here."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.web.harness import add_users, run, serving

ROUNDS = 5


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unknown_user_takes_as_long_as_a_wrong_password(db, engine):
    add_users(engine)

    async def scenario() -> dict[str, float]:
        async with serving(db) as web, web.client() as http:

            async def median_s(username: str) -> float:
                times = []
                for n in range(ROUNDS):
                    started = time.perf_counter()
                    body = {"username": username, "password": f"wrong {n}"}
                    async with http.post("/api/v1/login", json=body) as r:
                        assert r.status == 401
                    times.append(time.perf_counter() - started)
                return statistics.median(times)

            await median_s("nobody-warm-up")  # the first unknown name also makes the dummy hash
            return {"known": await median_s("organizer"), "unknown": await median_s("nobody")}

    seconds = run(scenario())
    assert seconds["known"] > 0.005, seconds  # argon2 really ran
    assert 0.5 < seconds["unknown"] / seconds["known"] < 2, seconds
