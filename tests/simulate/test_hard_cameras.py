"""Hard site halls: opt-in per camera settings, with truth that leaves out faces never shown."""

from __future__ import annotations

import numpy as np

from attendance.simulate.cameras import (
    CameraSettings,
    facts,
    hall_plan,
    picture,
    site_profile,
    state_plan,
)
from attendance.simulate.occupancy import occupancy_at

PLAIN = CameraSettings(640, 360)
HARD = CameraSettings(640, 360, hard=True)


def test_default_cameras_film_plain_halls_whose_truth_is_the_occupancy():
    site = site_profile(PLAIN, 2026, "DC01001")
    state = occupancy_at(site, 300.0)
    hall = facts(PLAIN, site)
    assert hall.countable is None and hall.counts(state) == state.counts()
    assert {p.kind for p in hall_plan(PLAIN, site).people} == {"frontal"}


def test_hard_cameras_film_the_same_session_with_faces_that_never_show():
    site = site_profile(HARD, 2026, "DC01001")
    plain = site_profile(PLAIN, 2026, "DC01001")  # the same people, arrivals and leavers
    assert site.capacity == plain.capacity and np.array_equal(site.arrive, plain.arrive)
    state = occupancy_at(site, 1800.0)  # everyone who comes has come
    plan = state_plan(hall_plan(HARD, site), state)
    present = [p for p in plan.people if not p.on_screen]
    hall = facts(HARD, site)
    counts = hall.counts(state)
    seated = {p.kind for p in hall_plan(HARD, site).people}
    assert {"turned", "reading", "back"} <= seated
    assert "occluded" not in seated  # who hides whom would change as people come and go
    assert counts["visible_faces"] == sum(p.visible for p in present) == len(hall.faces(state))
    assert counts["visible_faces"] < state.counts()["visible_faces"]
    assert sum(p.kind == "down" for p in present) == counts["looking_down"] == len(state.down)
    assert not np.array_equal(picture(HARD, site, state), picture(PLAIN, site, state))
