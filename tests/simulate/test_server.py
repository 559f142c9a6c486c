"""The simulator over real HTTP: frames, MJPEG framing, truth that matches the frame, MCU pages."""

from __future__ import annotations

import asyncio
import itertools

import cv2
import numpy as np

from attendance.simulate.cameras import hall_plan, picture, site_profile, state_plan
from attendance.simulate.occupancy import occupancy, occupancy_at, state_bounds
from tests.simulate.harness import (
    CODES,
    SEED,
    SMALL,
    decode,
    read_parts,
    run,
    running,
    smooth,
)


def test_snapshot_is_a_jpeg_of_the_configured_size_and_varies_only_by_noise():
    async def scenario():
        async with running() as h:
            shots = [await h.snapshot("DC03001") for _ in range(4)]
        frames = [decode(jpeg) for jpeg, _ in shots]
        assert all(f.shape == (SMALL.height, SMALL.width, 3) for f in frames)
        assert len({state for _, state in shots}) == 1
        assert len({jpeg for jpeg, _ in shots[:3]}) == 3  # live: no two alike in a row
        for a, b in itertools.pairwise(frames):
            diff = np.abs(a.astype(int) - b.astype(int))
            assert 0.5 < diff.mean() < 4 and np.percentile(diff, 99) < 20

    run(scenario())


def test_mjpeg_streams_the_current_frame_in_multipart_parts():
    async def scenario():
        async with running() as h, h.http.get("/cameras/DC02001/mjpeg") as response:
            assert response.status == 200
            parts = await read_parts(response, 3)
            _snapshot, state = await h.snapshot("DC02001")
        for headers, body in parts:
            assert decode(body).shape == (SMALL.height, SMALL.width, 3)
            assert int(headers["x-simulator-state"]) == state
        assert len({body for _, body in parts}) > 1

    run(scenario())


def test_truth_is_what_the_served_frame_shows():
    """The served pixels are those of the truth's state; its faces are the plan's visible ones."""

    async def scenario():
        async with running() as h:
            code = "DC04001"
            site = h.sim.cameras[code].site
            h.clock.now = state_bounds(site, 6)[0] + 1
            jpeg, state = await h.snapshot(code)
            truth = await h.json(f"/truth/{code}")
            everything = await h.json("/truth")
        assert truth["state"] == state == 6
        now, before = occupancy(site, 6), occupancy(site, 5)
        plan = state_plan(hall_plan(SMALL, site), now)
        visible = [p for p in plan.people if p.visible and not p.on_screen]
        assert truth["visible_faces"] == len(visible) == len(truth["faces"])
        assert sorted(truth["faces"]) == sorted(list(p.box) for p in visible)
        assert truth["present"] == len(now.present)
        assert truth["looking_down"] == len(now.down)
        assert truth["screen_faces"] == sum(p.on_screen for p in plan.people)
        # JPEG and sensor noise blur away; a person arriving, leaving or looking down does not.
        served = smooth(decode(jpeg))
        assert np.abs(served - smooth(picture(SMALL, site, now))).max() < 20
        assert np.abs(served - smooth(picture(SMALL, site, before))).max() > 60
        summary = everything["sites"][code]
        assert {k: summary[k] for k in ("present", "visible_faces", "state")} == {
            k: truth[k] for k in ("present", "visible_faces", "state")
        }
        assert set(everything["sites"]) == set(CODES) and "at" in everything

    run(scenario())


def test_occupancy_changes_over_time_deterministically_per_seed():
    async def session(seed: int) -> list[dict]:
        async with running(seed=seed) as h:
            records = []
            for minute in (0, 5, 12, 30, 60, 95):
                h.clock.now = minute * 60.0
                records.append((await h.json("/truth"))["sites"])
            _jpeg, state = await h.snapshot("DC05001")
            assert state == records[-1]["DC05001"]["state"]
            return records

    async def scenario():
        first, again, other = await session(7), await session(7), await session(8)
        assert first == again and first != other
        assert len({r["DC05001"]["state"] for r in first}) == 6
        total = [sum(site["present"] for site in r.values()) for r in first]
        assert total[2] > total[0]

    run(scenario())


def test_truth_recalls_a_state_and_the_wall_clock_runs_at_speed():
    async def scenario():
        async with running(clock=None, speed=1000.0) as h:
            await asyncio.sleep(0.05)
            truth = await h.json("/truth/DC01001?state=3")
            assert truth["seconds"] >= 40
            assert truth["state"] == 3
            assert truth["since"] == round(state_bounds(h.sim.cameras["DC01001"].site, 3)[0], 3)
            async with h.http.get("/truth/DC01001?state=-1") as response:
                assert response.status == 400
            async with h.http.get("/cameras/DC99999/snapshot.jpg") as response:
                assert response.status == 404

    run(scenario())


def test_state_drawn_once_while_many_ask_for_it():
    async def scenario():
        async with running() as h:
            shots = await asyncio.gather(*(h.snapshot("DC02001") for _ in range(6)))
            assert len({state for _, state in shots}) == 1
            assert h.sim.stats.renders == 1
            status = await h.json("/")
            assert status["rendered_sites"] == 1 and status["stats"]["renders"] == 1

    run(scenario())


def test_mcu_page_is_a_4x4_composite_of_its_sites_in_code_order():
    async def scenario():
        async with running() as h:
            layout = await h.json("/mcu/0/layout")
            last = await h.json("/mcu/1/layout")
            async with h.http.get("/mcu/0/snapshot.jpg") as response:
                composite = decode(await response.read())
            async with h.http.get("/mcu/2/layout") as response:
                assert response.status == 404
            async with h.http.get("/mcu/1/mjpeg") as response:
                parts = await read_parts(response, 2)
            site, _ = await h.snapshot(layout["tiles"][5])
            neighbour, _ = await h.snapshot(layout["tiles"][6])
        assert layout["grid"] == "4x4" and layout["tiles"] == sorted(CODES)[:16]
        assert last["tiles"] == sorted(CODES)[16:] + [None] * 12
        assert composite.shape == (SMALL.mcu_height, SMALL.mcu_width, 3)
        tile_w, tile_h = layout["tile_size"]
        assert (tile_w, tile_h) == (SMALL.mcu_width // 4, SMALL.mcu_height // 4)
        tile = smooth(composite[tile_h : 2 * tile_h, tile_w : 2 * tile_w])  # row 1, col 1

        def shrunk(jpeg: bytes) -> np.ndarray:
            return smooth(cv2.resize(decode(jpeg), (tile_w, tile_h), interpolation=cv2.INTER_AREA))

        assert np.abs(tile - shrunk(site)).mean() < 3 < np.abs(tile - shrunk(neighbour)).mean()
        empty = decode(parts[1][1])[tile_h:, tile_w:]  # page 1 has 4 sites: the rest is black
        assert empty.mean() < 5

    run(scenario())


def test_truth_can_be_computed_without_the_server():
    """A benchmark may map capture times to truth offline: site_profile + occupancy_at."""

    async def scenario():
        async with running() as h:
            h.clock.now = 1000.0
            served = (await h.json("/truth"))["sites"]
            status = await h.json("/")
        for code in CODES:
            offline = occupancy_at(site_profile(SMALL, SEED, code), 1000.0).counts()
            assert {key: served[code][key] for key in offline} == offline
        assert status["started_at"].endswith("+00:00") and status["period"] == 240.0

    run(scenario())
