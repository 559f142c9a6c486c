"""One status judge: the web node judges every site from the samples it hears from all workers.

In cluster mode a site moves to another worker when workers come and go. A worker used to judge
its own sites and publish their status; the old worker, hearing no more samples of a moved site,
called it stale then offline while the new one sampled it. Now no worker's claim overrides what
the samples say.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attendance.config import Settings
from attendance.live.events import MalformedEvent, SampleEvent, StoreEvent, parse
from attendance.web.live import LiveState, SiteRow

SLOT = datetime(2026, 11, 25, 1, tzinfo=UTC)


def _state() -> LiveState:
    state = LiveState(Settings())
    state.rows["S-001"] = SiteRow("S-001", "Site", "Hà Nội", 40, None, "offline", "none", None)
    state.ids["S-001"] = 1
    return state


def test_a_site_sampled_by_a_new_worker_stays_live_whatever_the_old_one_says():
    state = _state()
    state.on_event(SampleEvent("S-001", SLOT, "ok", 31))
    assert (state.rows["S-001"].count, state.rows["S-001"].status) == (31, "live")
    # The old worker's board used to publish `site_status` (offline): no such event exists now…
    with pytest.raises(MalformedEvent, match="unknown kind 'site_status'"):
        parse({"kind": "site_status", "site": "S-001", "status": "offline", "reason": "x"})
    state.on_event(StoreEvent("old-worker", "database away"))  # …and other events change no row
    state.on_event(SampleEvent("S-001", SLOT, "gated", 31))
    state.tick()
    assert state.rows["S-001"].status == "live"  # …the samples of the new one say how it is


def test_a_site_nobody_samples_goes_stale_by_the_web_nodes_own_clock():
    state = _state()
    state.on_event(SampleEvent("S-001", SLOT, "ok", 31))
    stale_after = state.settings.sampling.stale_after_s
    state.board.sites["S-001"].last_good_at -= stale_after + 1  # its last good sample, long ago
    state.tick()
    assert state.rows["S-001"].status == "stale"
    assert state.rows["S-001"].reason.startswith("last usable frame")
