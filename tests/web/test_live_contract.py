"""The live feed's one shape, from `SiteRow` to the page: the count used to change shape four times
on its way (row dict → event dict → JSON → positional list `row[4]` → JS columns), a contract
written nowhere. Now the columns are SiteRow's fields, every message carries them, and the
scripts read a site by those names only: these tests fail when Python and JS disagree."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attendance.live.events import SampleEvent
from attendance.web.live import COLUMNS, LIVE, SiteRow, rows_of
from attendance.web.pages import SITE_COLUMNS
from tests.web.harness import run, serving
from tests.web.test_api import quick_passwords, seed  # noqa: F401 (a fixture)

STATIC = Path(__file__).parents[2] / "attendance" / "web" / "static"


def _js_list(name: str) -> list[str]:
    """A constant array of strings exported by live.js, as written there."""
    source = (STATIC / "live.js").read_text()
    found = re.search(rf"export const {name} = (\[[^\]]*\]);", source)
    assert found, f"no `export const {name} = [...]` in live.js"
    return json.loads(found.group(1).replace("\n", " ").rstrip(", ]") + "]")


def _fields_read(path: Path) -> set[str]:
    """Every `site.<name>` a script reads (also `a.site.code`, never `sites.get`)."""
    return set(re.findall(r"\bsite\.(\w+)", path.read_text()))


def test_the_scripts_name_the_fields_of_site_row():
    assert tuple(_js_list("SITE_FIELDS")) == COLUMNS == tuple(f.name for f in fields(SiteRow))
    derived = set(_js_list("DERIVED"))
    assert derived == {"rate", "search"} and not derived & set(COLUMNS)
    known = set(COLUMNS) | derived
    scripts = sorted(STATIC.glob("*.js"))
    assert len(scripts) >= 4, scripts
    read = {path.name: _fields_read(path) for path in scripts}
    assert {"count", "status", "expected"} <= read["overview.js"]  # the pattern finds reads
    assert {path: names - known for path, names in read.items() if names - known} == {}


def test_the_site_table_and_its_sort_keys_are_fields():
    """sites.js sorts and fills cells by the headers' keys and re-sorts on ORDER_FIELDS."""
    known = set(COLUMNS) | set(_js_list("DERIVED"))
    assert set(SITE_COLUMNS) <= known
    source = (STATIC / "sites.js").read_text()
    order = re.search(r"ORDER_FIELDS = new Set\((\[[^\]]*\])\)", source)
    assert order and set(json.loads(order.group(1))) <= set(COLUMNS)
    assert set(re.findall(r'fields\.has\("(\w+)"\)', source)) <= set(COLUMNS)


def test_a_row_goes_out_as_its_fields_in_column_order():
    row = SiteRow("HN01", "Ba Đình", "Hà Nội", 40, 31, "live", "ok", "2026-11-25T01:00:00+00:00")
    message = {"columns": list(COLUMNS), "rows": [list(row.values())]}
    assert rows_of(json.loads(json.dumps(message))) == [row]
    shuffled = {"columns": list(reversed(COLUMNS)), "rows": [list(reversed(row.values()))]}
    assert rows_of(shuffled) == [row]  # read by name: the order is the message's


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_snapshot_and_delta_over_a_real_socket_carry_the_columns(db, engine):
    seed(engine)

    async def scenario() -> None:
        async with serving(db) as web:
            http, _csrf = await web.login("organizer")
            async with http, http.ws_connect("/api/v1/live") as ws:
                snapshot = await ws.receive_json()
                assert snapshot["type"] == "snapshot"
                assert snapshot["columns"] == list(COLUMNS)
                assert all(len(values) == len(COLUMNS) for values in snapshot["rows"])
                state = web.server.app[LIVE]
                assert {row.code: row for row in rows_of(snapshot)} == state.rows
                web.bus.publish(SampleEvent("HN02", datetime.now(UTC), "ok", 17, 1.5, 210.0))
                delta = await asyncio.wait_for(ws.receive_json(), 5)
            assert delta["type"] == "delta" and delta["columns"] == list(COLUMNS)
            (changed,) = rows_of(delta)
            assert (changed.code, changed.count, changed.status) == ("HN02", 17, "live")
            assert datetime.fromisoformat(changed.at).tzinfo is not None

    run(scenario())
