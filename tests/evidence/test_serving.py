"""GET /evidence/{sha256}.jpg: only for readers of a site that shows the image, only for a
well-formed hash (no path ever built from anything else), 404 once purged; and the site page
shows the latest count's image in place of the placeholder."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from attendance.audit import evidence
from attendance.store.samples import record_samples
from tests.web.harness import run, serving
from tests.web.test_api import quick_passwords  # noqa: F401 (autouse: applies here too)
from tests.web.test_pages import STARTS_AT, build_world

ROOT = Path("var/evidence")  # the default evidence.dir; tests run in their own directory
UNKNOWN = "0" * 64


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_evidence_is_served_to_readers_of_its_site_only(cli, db, engine, tmp_path):
    ids = build_world(cli, db, engine, tmp_path)  # the operator's scope: HN-001
    images = {code: evidence.store(ROOT, code.encode() * 50) for code in ("HN-001", "DN-001")}
    slot = STARTS_AT + timedelta(minutes=25)  # after every other sample: the latest count
    rows = [_sample(ids[code], ids["session"], slot, sha256) for code, sha256 in images.items()]
    record_samples(engine, rows)
    hn, dn = (f"/evidence/{images[code]}.jpg" for code in ("HN-001", "DN-001"))
    sha256 = images["HN-001"]
    malformed = ["/evidence/..%2F..%2Fetc%2Fpasswd", "/evidence/..%2F..%2Fetc%2Fpasswd.jpg",
                 "/evidence/../x.jpg", f"/evidence/..%2F{sha256}.jpg",
                 f"/evidence/{sha256.upper()}.jpg", f"/evidence/{sha256[1:]}.jpg",
                 f"/evidence/{sha256}.png", f"/evidence/{UNKNOWN}.jpg"]  # fmt: skip

    async def scenario():
        async with serving(db) as web:
            async with web.client() as anonymous:
                assert await _status(anonymous, web, hn) == 401
            for role in ("organizer", "auditor"):
                http, _ = await web.login(role)
                async with http:
                    async with http.get(hn) as r:
                        assert r.status == 200 and await r.read() == b"HN-001" * 50
                        assert r.content_type == "image/jpeg"
                        assert r.headers["Cache-Control"].startswith("private")
                    assert await _status(http, web, dn) == 200
                    async with http.get("/sites/HN-001") as r:
                        page = await r.text()
                    assert f'<img class="frame evidence" id="faces" src="{hn}"' in page
                    assert "Ảnh minh chứng" not in page  # the placeholder is gone
            http, _ = await web.login("operator")
            async with http:
                assert await _status(http, web, hn) == 200
                assert await _status(http, web, dn) == 404, "outside the operator's scope"
                for path in malformed:
                    assert await _status(http, web, path) == 404, path
                evidence.path_of(ROOT, images["HN-001"]).unlink()  # purged
                assert await _status(http, web, hn) == 404
                async with http.get("/sites/HN-001") as r:
                    assert "Ảnh minh chứng" in await r.text()  # the placeholder again

    run(scenario())


def _sample(site_id: int, session_id: int, slot, sha256: str) -> dict:
    return {"site_id": site_id, "session_id": session_id, "slot": slot, "status": "ok",
            "face_count": 1, "boxes": [[10, 60, 60, 10]], "detector": {"size": [640, 360]},
            "evidence_sha256": sha256}  # fmt: skip


async def _status(http: aiohttp.ClientSession, web, path: str) -> int:
    """GET `path` exactly as written: no client-side normalisation of `..` or escapes."""
    url = URL(web.url("/") + path.lstrip("/"), encoded=True)
    async with (
        aiohttp.ClientSession(cookie_jar=http.cookie_jar) as raw,
        raw.get(url, allow_redirects=False) as response,
    ):
        return response.status
