"""Each fault breaks a camera's snapshot and MJPEG stream in its own way; other sites carry on."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import numpy as np
import pytest

from attendance.simulate.occupancy import state_bounds
from tests.simulate.harness import decode, read_parts, run, running

SHORT = aiohttp.ClientTimeout(total=0.3)


def test_timeout_accepts_but_never_answers_while_others_work():
    async def scenario():
        async with running(faults={"DC01001": "timeout"}) as h:
            for path in ("snapshot.jpg", "mjpeg"):
                with pytest.raises(asyncio.TimeoutError):
                    async with h.http.get(f"/cameras/DC01001/{path}", timeout=SHORT) as r:
                        await r.read()
            hanging = asyncio.create_task(h.http.get("/cameras/DC01001/snapshot.jpg"))
            jpeg, _ = await h.snapshot("DC02001")
            assert decode(jpeg) is not None and not hanging.done()
            stopping = time.monotonic()
        # Leaving the block stopped the server with that request still hanging: not for long.
        assert time.monotonic() - stopping < 2
        with contextlib.suppress(aiohttp.ClientError):
            assert (await asyncio.wait_for(hanging, 2)).status == 503

    run(scenario())


def test_garbage_is_a_200_jpeg_that_does_not_decode():
    async def scenario():
        async with running(faults={"DC01001": "garbage"}) as h:
            async with h.http.get("/cameras/DC01001/snapshot.jpg") as r:
                assert r.status == 200 and r.content_type == "image/jpeg"
                first = await r.read()
            async with h.http.get("/cameras/DC01001/mjpeg") as r:
                parts = await read_parts(r, 2)
        assert decode(first) is None and len(first) > 5000
        assert all(decode(body) is None for _, body in parts)
        assert parts[0][1] != parts[1][1]

    run(scenario())


def test_drop_cuts_the_jpeg_in_half_and_closes():
    async def scenario():
        async with running(faults={"DC01001": "drop"}) as h:
            with pytest.raises(aiohttp.ClientPayloadError):
                async with h.http.get("/cameras/DC01001/snapshot.jpg") as r:
                    assert r.status == 200
                    await r.read()
            async with h.http.get("/cameras/DC01001/mjpeg") as r:
                assert r.status == 200
                with pytest.raises((aiohttp.ClientPayloadError, asyncio.IncompleteReadError)):
                    await read_parts(r, 1)
            jpeg, _ = await h.snapshot("DC02001")
            assert decode(jpeg) is not None

    run(scenario())


def test_frozen_serves_the_same_bytes_even_when_the_hall_changes():
    async def scenario():
        async with running() as h:
            before, state = await h.snapshot("DC01001")
            await h.set_fault("DC01001", "frozen")
            frozen = [await h.snapshot("DC01001") for _ in range(3)]
            site = h.sim.cameras["DC01001"].site
            h.clock.now = state_bounds(site, 4)[0]
            frozen.append(await h.snapshot("DC01001"))
            truth = await h.json("/truth/DC01001")
            async with h.http.get("/cameras/DC01001/mjpeg") as r:
                parts = await read_parts(r, 2)
            await h.set_fault("DC01001", None)
            live, live_state = await h.snapshot("DC01001")
        assert len({jpeg for jpeg, _ in frozen} | {body for _, body in parts}) == 1
        assert {s for _, s in frozen} == {state}
        assert truth["fault"] == "frozen" and truth["state"] == 4 and truth["frame_state"] == state
        assert live_state == 4 and live != frozen[0][0] and before != live

    run(scenario())


def test_black_is_dark_but_still_noisy():
    async def scenario():
        async with running(faults={"DC01001": "black"}) as h:
            async with h.http.get("/cameras/DC01001/snapshot.jpg") as r:
                assert r.status == 200 and "X-Simulator-State" not in r.headers
                shots = [await r.read()]
            for _ in range(2):
                async with h.http.get("/cameras/DC01001/snapshot.jpg") as r:
                    shots.append(await r.read())
            async with h.http.get("/cameras/DC01001/mjpeg") as r:
                parts = await read_parts(r, 2)
        frames = [decode(jpeg) for jpeg in shots + [body for _, body in parts]]
        assert all(f.mean() < 12 for f in frames)
        assert len(set(shots)) == 3 and not np.array_equal(frames[0], frames[1])

    run(scenario())


def test_http500_on_snapshot_and_stream_and_faults_set_at_runtime():
    async def scenario():
        async with running() as h:
            async with h.http.get("/cameras/DC01001/mjpeg") as stream:
                await read_parts(stream, 1)
                await h.set_fault("DC01001", "http500")
                ended = await stream.content.read()  # the stream ends with the next part
                assert ended.endswith(b"--frame--\r\n")
            for path in ("snapshot.jpg", "mjpeg"):
                async with h.http.get(f"/cameras/DC01001/{path}") as r:
                    assert r.status == 500
            assert await h.json("/faults") == {"DC01001": "http500"}
            async with h.http.post("/faults/DC01001", json={"kind": "melted"}) as r:
                assert r.status == 400
            async with h.http.post("/faults/DC99999", json={"kind": None}) as r:
                assert r.status == 404
            await h.set_fault("DC01001", None)
            jpeg, _ = await h.snapshot("DC01001")
            assert decode(jpeg) is not None and await h.json("/faults") == {}

    run(scenario())


def test_a_faulty_site_is_a_black_tile_on_its_mcu_page():
    async def scenario():
        async with (
            running(faults={"DC01001": "http500"}) as h,
            h.http.get("/mcu/0/snapshot.jpg") as r,
        ):
            composite = decode(await r.read())
        tile_h, tile_w = composite.shape[0] // 4, composite.shape[1] // 4
        assert composite[:tile_h, :tile_w].mean() < 5 < composite[:tile_h, tile_w:].mean()

    run(scenario())
