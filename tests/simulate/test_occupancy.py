"""A site's session is deterministic per (seed, code) and looks like a real hall filling up."""

from __future__ import annotations

import numpy as np
import pytest

from attendance.examples.generate import example_sites
from attendance.simulate.occupancy import (
    DOWN_RANGE,
    PEOPLE,
    occupancy,
    occupancy_at,
    profile,
    state_at,
    state_bounds,
)

CODES = [site["site_code"] for site in example_sites(300)]


def test_same_seed_same_session_other_seed_other_session():
    a, b = profile(1, "DC01001"), profile(1, "DC01001")
    assert np.array_equal(a.arrive, b.arrive) and a.period == b.period
    assert occupancy_at(a, 1234.5) == occupancy_at(b, 1234.5)
    other = profile(2, "DC01001")
    assert not np.array_equal(a.arrive, other.arrive) or a.capacity != other.capacity


def test_capacity_in_range_and_capped_by_the_seats():
    sites = [profile(0, code) for code in CODES]
    assert all(PEOPLE[0] <= s.capacity <= PEOPLE[1] for s in sites)
    assert max(s.capacity for s in sites) > 70 and min(s.capacity for s in sites) < 30
    assert all(profile(0, code, max_people=25).capacity <= 25 for code in CODES[:20])


def test_people_arrive_over_the_first_minutes_some_late_some_leave_early():
    sites = [profile(3, code) for code in CODES]
    start = [len(occupancy_at(s, 0).present) for s in sites]
    settled = [len(occupancy_at(s, 900).present) for s in sites]  # 15 minutes in
    later = [len(occupancy_at(s, 2800).present) for s in sites]  # after the late comers
    end = [len(occupancy_at(s, 6000).present) for s in sites]  # after the early leavers
    assert all(a <= b for a, b in zip(start, settled, strict=True))
    assert sum(settled) > 1.2 * sum(start)
    assert sum(later) > sum(settled) and sum(end) < sum(later)
    assert all(n <= s.capacity for n, s in zip(later, sites, strict=True))
    assert sum(later) < sum(s.capacity for s in sites)  # some never come


def test_looking_down_is_a_varying_share_of_those_present():
    site = profile(5, "DC02003")
    shares = []
    for state in range(5, 30):
        now = occupancy(site, state)
        assert set(now.down) <= set(now.present)
        counts = now.counts()
        assert counts["visible_faces"] + counts["looking_down"] == counts["present"]
        shares.append(len(now.down) / len(now.present))
    assert all(DOWN_RANGE[0] <= s <= DOWN_RANGE[1] + 0.05 for s in shares)
    assert len(set(shares)) > 5


def test_sites_change_every_few_minutes_at_their_own_moments():
    sites = [profile(0, code) for code in CODES]
    assert all(0.6 * 240 <= s.period <= 1.4 * 240 for s in sites)
    assert profile(0, CODES[0], period=600).period == pytest.approx(2.5 * sites[0].period)
    first_change = np.array([state_bounds(s, 1)[0] for s in sites])
    window = np.histogram(first_change, bins=np.arange(0, 400, 10))[0]
    assert window.max() < 0.1 * len(sites)
    site = sites[0]
    start, end = state_bounds(site, 3)
    assert state_at(site, start) == 3 and state_at(site, end - 1e-6) == 3
    assert state_at(site, end) == 4 and abs(end - start - site.period) < 1e-9


def test_about_one_site_in_five_has_a_screen():
    share = np.mean([profile(11, code).screen for code in CODES])
    assert 0.12 < share < 0.3
