"""Shared halls (`distinct`): many sites, few drawings, and every site's truth is what it shows."""

from __future__ import annotations

import dataclasses
import json
import urllib.request

import numpy as np
import pytest

from attendance.bench.simulated import SimulatedSites
from attendance.simulate.cameras import picture, shown_halls
from attendance.simulate.occupancy import occupancy, state_bounds
from tests.simulate.harness import (
    CODES,
    SEED,
    SMALL,
    decode,
    run,
    running,
    simulator_process,
    smooth,
)

DISTINCT = 6  # CODES are 20 sites: halls 0–5 are shown by 3 or 4 sites each


def test_site_i_shows_the_hall_of_site_i_mod_n():
    halls = shown_halls(CODES, DISTINCT)
    assert [halls[code] for code in CODES] == [CODES[i % DISTINCT] for i in range(len(CODES))]
    assert shown_halls(CODES) == {code: code for code in CODES}
    assert shown_halls(CODES, 100) == shown_halls(CODES)
    with pytest.raises(ValueError, match="≥ 1"):
        shown_halls(CODES, 0)


def test_sharing_sites_serve_their_hall_drawn_once_with_its_truth():
    """Every site's pixels are those of its hall's state, and /truth/CODE says so."""

    async def scenario():
        async with running(distinct=DISTINCT) as h:
            hall = h.sim.cameras[CODES[1]].site
            h.clock.now = state_bounds(hall, 3)[0] + 1
            shots = {code: await h.snapshot(code) for code in CODES}
            truths = {code: await h.json(f"/truth/{code}") for code in CODES}
            everything = (await h.json("/truth"))["sites"]
            status = await h.json("/")
        assert status["halls"] == DISTINCT and status["rendered_sites"] == len(CODES)
        assert status["stats"]["renders"] == DISTINCT
        own = {code: truths[code] for code in CODES[:DISTINCT]}
        for i, code in enumerate(CODES):
            source = CODES[i % DISTINCT]
            truth, (jpeg, state) = truths[code], shots[code]
            assert truth["code"] == code and truth["hall"] == source
            shared = ("present", "visible_faces", "looking_down", "state", "faces", "screen")
            assert {k: truth[k] for k in shared} == {k: own[source][k] for k in shared}
            assert everything[code]["visible_faces"] == truth["visible_faces"]
            assert state == truth["state"]
            site = h.sim.cameras[source].site
            drawn = smooth(picture(SMALL, site, occupancy(site, state)))
            assert np.abs(smooth(decode(jpeg)) - drawn).max() < 20
        assert truths[CODES[1]]["state"] == 3 and truths[CODES[7]]["state"] == 3

    run(scenario())


def test_sharing_sites_change_together_with_their_hall():
    async def scenario():
        async with running(distinct=DISTINCT) as h:
            hall = h.sim.cameras[CODES[2]].site
            h.clock.now = state_bounds(hall, 5)[0]
            before = [await h.snapshot(CODES[i]) for i in (2, 8, 14)]
            h.clock.now = state_bounds(hall, 6)[0]
            after = [await h.snapshot(CODES[i]) for i in (2, 8, 14)]
            renders = h.sim.stats.renders
        assert [state for _, state in before] == [5, 5, 5]
        assert [state for _, state in after] == [6, 6, 6]
        assert renders == 2

    run(scenario())


def test_offline_truth_matches_the_server_for_shared_halls():
    """`attendance.bench.simulated` gives a benchmark the served truth from the same options."""
    sites = SimulatedSites(len(CODES), SEED, (SMALL.width, SMALL.height), 240.0, DISTINCT)

    async def scenario():
        async with running(distinct=DISTINCT) as h:
            for minute in (0, 7, 31, 88):
                h.clock.now = minute * 60.0
                served = (await h.json("/truth"))["sites"]
                for code in CODES:
                    assert sites.visible_faces(code, h.clock.now) == served[code]["visible_faces"]
                    assert sites.occupancy(code, h.clock.now).state == served[code]["state"]

    run(scenario())
    with pytest.raises(KeyError, match="DC99001"):
        sites.visible_faces("DC99001", 0.0)


def test_offline_truth_of_hard_halls_is_the_servers():
    """With hard halls a back (or a reader behind a paper) is present but no visible face:
    `SimulatedSites(hard=True)` counts as the server's `/truth` does, not as occupancy does,
    and its `args` start the simulator with --hard."""
    sites = SimulatedSites(len(CODES), SEED, (SMALL.width, SMALL.height), 240.0, hard=True)
    assert "--hard" in sites.args(0) and "--hard" not in dataclasses.replace(
        sites, hard=False
    ).args(0)
    hidden = 0

    async def scenario():
        nonlocal hidden
        async with running(camera=dataclasses.replace(SMALL, hard=True)) as h:
            for minute in (0, 31):
                h.clock.now = minute * 60.0
                served = (await h.json("/truth"))["sites"]
                for code in CODES:
                    counts = sites.counts(code, h.clock.now)
                    assert counts == {k: served[code][k] for k in counts}, code
                    occupancy = sites.occupancy(code, h.clock.now).counts()
                    hidden += occupancy["visible_faces"] - counts["visible_faces"]

    run(scenario())
    assert hidden > 0  # the hard halls hide faces occupancy alone would count


def test_the_command_serves_shared_halls_as_the_benchmark_starts_it():
    """`simulate sites … --warm --distinct N` from `SimulatedSites.args`: draws N halls only."""
    sites = SimulatedSites(count=5, seed=SEED, size=(320, 180), period=600.0, distinct=2)
    args = [*sites.args(0), "--mcu-size", "320x180"]
    assert args[args.index("--distinct") + 1] == "2" and "--warm" in args
    with simulator_process(*args) as server:
        banner = server.stdout.readline()
        assert "5 sites showing 2 halls" in banner, server.stderr.read() or banner
        url = banner.split()[1]
        with urllib.request.urlopen(f"{url}/", timeout=10) as r:
            status = json.load(r)
        with urllib.request.urlopen(f"{url}/truth/DC05001", timeout=10) as r:
            truth = json.load(r)
    err = server.stderr_text
    assert status["halls"] == 2 and status["stats"]["renders"] == 2
    assert truth["hall"] == "DC01001"  # DC05001 is site 4 of the examples: 4 mod 2 = 0
    assert truth["visible_faces"] == sites.visible_faces("DC05001", truth["seconds"])
    assert "drawn 2/2 halls" in err and "Traceback" not in err
