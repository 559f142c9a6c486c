"""The simulator's HTTP server: site cameras, MCU composites, ground truth and injected faults.

Endpoints (all on one aiohttp app, see `init_app`):
  GET  /                              status: sites, pages, clock, faults, render statistics
  GET  /cameras/{code}/snapshot.jpg   the site's current frame
  GET  /cameras/{code}/mjpeg          multipart/x-mixed-replace; boundary=frame, ~2 frames/s
  GET  /mcu/{page}/snapshot.jpg       4×4 composite of the 16 sites of a page (code order)
  GET  /mcu/{page}/mjpeg
  GET  /mcu/{page}/layout             {"grid": "4x4", "tiles": [code or null, …], …}
  GET  /truth                         {"at", "seconds", "sites": {code: counts}}
  GET  /truth/{code}[?state=K]        one site, with its screen polygon and face boxes
  GET  /faults                        {code: kind}
  POST /faults/{code}                 {"kind": KIND or null}

A site's frame is drawn once per occupancy state, in a worker process (or a thread), when it is
first asked for; requests in between are served from the encoded variants, in turn. With
`distinct` halls, sites share them: site i shows the hall (and the session) of site i % N, drawn
once for all of them, so thousands of sites cost the drawing and memory of N. Snapshots
and MJPEG parts carry `X-Simulator-State: K`, the state the frame shows, which `/truth/{code}`
reports too (and `?state=K` recalls).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import multiprocessing
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from attendance.simulate import cameras
from attendance.simulate.cameras import (
    MCU_GRID,
    CameraSettings,
    HallFacts,
    Render,
    shown_halls,
    site_profile,
)
from attendance.simulate.occupancy import (
    PERIOD,
    Occupancy,
    SiteProfile,
    occupancy,
    state_at,
)

log = logging.getLogger(__name__)

# What each fault does to a snapshot and to an MJPEG stream (see README / the CLI help).
FAULTS = ("timeout", "garbage", "drop", "frozen", "black", "http500")
NO_PICTURE = {"timeout", "garbage", "drop", "black", "http500"}  # an MCU shows a black tile
HANG = 3600.0  # how long `timeout` keeps a request open (or until the server stops)
GARBAGE_BYTES = (10_000, 80_000)
BOUNDARY = "frame"
PAGE_SITES = MCU_GRID * MCU_GRID
FACTS_CHUNK = 25


@dataclass(frozen=True)
class SimulatorConfig:
    codes: tuple[str, ...]  # the sites in examples order (see distinct); paged in code order
    seed: int = 2026
    camera: CameraSettings = field(default_factory=CameraSettings)
    speed: float = 1.0  # session seconds per wall-clock second
    period: float = PERIOD  # mean session seconds between a site's occupancy changes
    faults: Mapping[str, str] = field(default_factory=dict)  # code → kind, set at start
    render_workers: int = 1  # worker processes that draw frames; 0: one thread (tests)
    mjpeg_interval: float = 0.5  # seconds between MJPEG frames
    clock: Callable[[], float] | None = None  # session seconds; default: speed × wall time
    distinct: int | None = None  # halls drawn: codes[i] shows codes[i % distinct]'s; None: all
    reading: float | None = None  # people read in bouts this share of the time (None: habit)

    def __post_init__(self) -> None:
        if not self.codes or len(set(self.codes)) != len(self.codes):
            raise ValueError("need at least one site and no code twice")
        if self.distinct is not None and self.distinct < 1:
            raise ValueError(f"distinct halls must be ≥ 1, not {self.distinct}")
        if not self.speed > 0 or not self.period > 0:
            raise ValueError(f"speed and period must be > 0, not {self.speed}, {self.period}")
        for code, kind in self.faults.items():
            check_fault(code, kind, self.codes)


def check_fault(code: str, kind: str | None, codes: tuple[str, ...] | Mapping) -> None:
    """Raise ValueError unless `kind` is a fault (or None) and `code` a simulated site."""
    if code not in codes:
        raise ValueError(f"no site {code!r} is simulated")
    if kind is not None and kind not in FAULTS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")


@dataclass
class Hall:
    """A drawn hall and its session, shown by one site's camera or (`distinct`) by several."""

    site: SiteProfile  # the profile of the site whose hall this is
    render: Render | None = None
    pending: tuple[tuple, asyncio.Task] | None = None  # (occupancy key, render task)
    last: Occupancy | None = None  # the latest state computed, reused within the state


@dataclass
class Camera:
    """A site's camera as the server keeps it: the hall it films and the fault, if any."""

    code: str
    hall: Hall
    fault: str | None = None
    frozen: tuple[bytes, Render] | None = None  # `frozen`: the frame it froze on
    turn: int = 0  # which variant is served next

    @property
    def site(self) -> SiteProfile:
        """The session the camera shows: its own site's, or the one whose hall it shares."""
        return self.hall.site


@dataclass
class Stats:
    renders: int = 0
    render_ms: float = 0.0  # drawing and encoding, inside the worker
    composites: int = 0

    def as_json(self, cached_bytes: int) -> dict[str, Any]:
        mean = self.render_ms / self.renders if self.renders else None
        return {
            "renders": self.renders,
            "render_ms_mean": round(mean, 1) if mean else None,
            "composites": self.composites,
            "cached_mb": round(cached_bytes / 2**20, 1),
        }


class Simulator:
    """The state behind the endpoints. Lives on one event loop; not thread-safe."""

    def __init__(self, config: SimulatorConfig, executor: Executor) -> None:
        self.config = config
        self.camera = config.camera
        self.executor = executor
        shown = shown_halls(config.codes, config.distinct)
        self.halls = {
            hall: Hall(site_profile(self.camera, config.seed, hall, config.period, config.reading))
            for hall in dict.fromkeys(shown.values())
        }
        self.cameras = {code: Camera(code, self.halls[shown[code]]) for code in sorted(shown)}
        self.codes = list(self.cameras)
        for code, kind in config.faults.items():
            self.cameras[code].fault = kind
        self.facts: dict[str, HallFacts] = {}
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self.started = time.monotonic()
        self.started_at = time.time()  # wall clock of session second 0 (with speed 1)
        self._all_facts: asyncio.Task | None = None
        self._black: Render | None = None
        self._mcu: dict[int, tuple[tuple, tuple[bytes, ...]]] = {}
        self._mcu_locks: dict[int, asyncio.Lock] = {}
        self._mcu_turn = 0

    # Time and state ---------------------------------------------------------------------

    def seconds(self) -> float:
        """Session seconds now."""
        if self.config.clock is not None:
            return self.config.clock()
        return self.config.speed * (time.monotonic() - self.started)

    def restart_clock(self) -> None:
        self.started, self.started_at = time.monotonic(), time.time()

    def occupancy(self, camera: Camera, seconds: float | None = None) -> Occupancy:
        return self._occupancy(camera.hall, seconds)

    def _occupancy(self, hall: Hall, seconds: float | None = None) -> Occupancy:
        state = state_at(hall.site, self.seconds() if seconds is None else seconds)
        if hall.last is None or hall.last.state != state:
            hall.last = occupancy(hall.site, state)
        return hall.last

    # Frames -----------------------------------------------------------------------------

    async def run(self, func: Callable, *args: Any) -> Any:
        """The one hop from the event loop to the render workers."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def current(self, hall: Hall, seconds: float | None = None) -> tuple[Render, int]:
        """The render of the hall's state now (cached, being drawn, or drawn now) and the state."""
        state = self._occupancy(hall, seconds)
        if hall.render is not None and hall.render.key == state.key:
            return hall.render, state.state
        if hall.pending is None or hall.pending[0] != state.key:
            hall.pending = (state.key, asyncio.create_task(self._draw(hall, state)))
        return await asyncio.shield(hall.pending[1]), state.state

    async def _draw(self, hall: Hall, state: Occupancy) -> Render:
        try:
            drawn = await self.run(_timed, cameras.render, self.camera, hall.site, state)
        finally:
            if hall.pending and hall.pending[0] == state.key:
                hall.pending = None
        (render, facts), ms = drawn
        self.stats.renders += 1
        self.stats.render_ms += ms
        self.facts[hall.site.code] = facts
        if hall.render is None or hall.render.state < render.state:
            hall.render = render  # a slow render of an older state never replaces a newer one
        return render

    async def frame(self, camera: Camera) -> tuple[bytes, int | None]:
        """The JPEG to serve now and the state it shows (None: not a picture of the hall).

        Honours the picture faults (`frozen`, `black`); the others are the handlers' business.
        """
        if camera.fault == "frozen":
            if camera.frozen is None:
                render, _ = await self.current(camera.hall)
                camera.frozen = (render.jpegs[camera.turn % len(render.jpegs)], render)
            return camera.frozen[0], camera.frozen[1].state
        if camera.fault == "black":
            return self._next(camera, self.black().jpegs), None
        render, state = await self.current(camera.hall)
        return self._next(camera, render.jpegs), state

    @staticmethod
    def _next(camera: Camera, jpegs: tuple[bytes, ...]) -> bytes:
        camera.turn += 1
        return jpegs[camera.turn % len(jpegs)]

    def black(self) -> Render:
        if self._black is None:  # a few ms, once: not worth a hop to the workers
            self._black = cameras.black(self.camera)
        return self._black

    async def hall_facts(self, cams: list[Camera]) -> None:
        """Make sure the facts (screen, face boxes) of these sites are known."""
        sites = {c.site.code: c.site for c in cams}  # cameras sharing a hall share its facts
        missing = [site for code, site in sites.items() if code not in self.facts]
        if len(missing) > FACTS_CHUNK:  # every site: one shared task, however many ask
            if self._all_facts is None or self._all_facts.done():
                self._all_facts = asyncio.create_task(self._facts_of(missing))
            await asyncio.shield(self._all_facts)
        elif missing:
            await self._facts_of(missing)

    async def _facts_of(self, sites: list[SiteProfile]) -> None:
        """A plan per site (~8 ms at 720p), in chunks so snapshots can be drawn in between."""
        for start in range(0, len(sites), FACTS_CHUNK):
            chunk = [s for s in sites[start : start + FACTS_CHUNK] if s.code not in self.facts]
            for site, facts in zip(chunk, await self.run(_facts, self.camera, chunk), strict=True):
                self.facts[site.code] = facts

    async def warm(self, progress: Callable[[int], None] | None = None) -> None:
        """Draw every hall's first state now, with a process per core, before serving.

        `progress` is called with the number of halls drawn so far, after each.
        """
        workers = os.cpu_count() or 1
        serving, self.executor = self.executor, make_executor(workers)
        queue = collections.deque(self.halls.values())
        done = 0

        async def drain() -> None:
            nonlocal done
            while queue:
                await self.current(queue.popleft(), seconds=0.0)
                done += 1
                if progress:
                    progress(done)

        try:
            await asyncio.gather(*(drain() for _ in range(2 * workers)))
        finally:
            self.executor.shutdown(cancel_futures=True)
            self.executor = serving
        self.restart_clock()

    # MCU --------------------------------------------------------------------------------

    def pages(self) -> int:
        return math.ceil(len(self.codes) / PAGE_SITES)

    def page(self, page: int) -> list[Camera]:
        codes = self.codes[page * PAGE_SITES : (page + 1) * PAGE_SITES]
        return [self.cameras[code] for code in codes]

    async def composite(self, page: int) -> bytes:
        """The page's composite now: redrawn only when one of its tiles changed."""
        cams = self.page(page)
        tiles = await asyncio.gather(*(self._tile(c) for c in cams))
        key = tuple((c.code, r.key if r else None) for c, r in zip(cams, tiles, strict=True))
        lock = self._mcu_locks.setdefault(page, asyncio.Lock())
        async with lock:
            cached = self._mcu.get(page)
            if cached is None or cached[0] != key:
                pictures = [r.tile if r else None for r in tiles]
                jpegs = await self.run(cameras.compose, self.camera, pictures, page)
                self._mcu[page] = cached = (key, jpegs)
                self.stats.composites += 1
        self._mcu_turn += 1
        return cached[1][self._mcu_turn % len(cached[1])]

    async def _tile(self, camera: Camera) -> Render | None:
        if camera.fault in NO_PICTURE:
            return None  # the MCU lost the site's picture: a black tile
        if camera.fault == "frozen":
            await self.frame(camera)
            return camera.frozen[1] if camera.frozen else None
        render, _ = await self.current(camera.hall)
        return render

    # Truth and faults -------------------------------------------------------------------

    def truth(self, camera: Camera, state: Occupancy, detail: bool) -> dict[str, Any]:
        facts = self.facts[camera.site.code]
        record: dict[str, Any] = {
            **facts.counts(state),
            "screen_faces": facts.screen_faces,
            "state": state.state,
            "fault": camera.fault,
        }
        if camera.fault == "frozen" and camera.frozen:
            record["frame_state"] = camera.frozen[1].state
        if detail:
            record |= {
                "code": camera.code,
                "hall": camera.site.code,
                "capacity": camera.site.capacity,
                "since": round(state.start, 3),
                "until": round(state.end, 3),
                "size": [self.camera.width, self.camera.height],
                "screen": facts.screen,
                "faces": facts.faces(state),
            }
        return record

    def set_fault(self, code: str, kind: str | None) -> None:
        check_fault(code, kind, self.cameras)
        camera = self.cameras[code]
        camera.fault, camera.frozen = kind, None

    async def pause(self, seconds: float) -> bool:
        """Sleep, but wake when the server stops; True if it is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()

    def status(self) -> dict[str, Any]:
        cached = sum(h.render.nbytes for h in self.halls.values() if h.render)
        cached += sum(sum(map(len, jpegs)) for _, jpegs in self._mcu.values())
        return {
            "sites": len(self.codes),
            "mcu_pages": self.pages(),
            "size": [self.camera.width, self.camera.height],
            "speed": self.config.speed,
            "period": self.config.period,
            "started_at": _iso(self.started_at),
            "seconds": round(self.seconds(), 3),
            "faults": self.faults(),
            "halls": len(self.halls),
            "rendered_sites": sum(c.hall.render is not None for c in self.cameras.values()),
            "stats": self.stats.as_json(cached),
        }

    def faults(self) -> dict[str, str]:
        return {code: c.fault for code, c in self.cameras.items() if c.fault}


def _timed(func: Callable, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    return func(*args), (time.perf_counter() - start) * 1000


def _facts(camera: CameraSettings, sites: list[SiteProfile]) -> list[HallFacts]:
    return [cameras.facts(camera, site) for site in sites]


def _worker_init() -> None:
    """Render workers ignore Ctrl-C (the server shuts them down) and load the faces early."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cameras.warm_up()


def make_executor(workers: int) -> Executor:
    if workers == 0:
        return ThreadPoolExecutor(1, thread_name_prefix="simulate-render")
    context = multiprocessing.get_context("spawn")  # no fork of a process running an event loop
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init)


# HTTP -------------------------------------------------------------------------------------

SIMULATOR = web.AppKey("simulator", Simulator)
NO_STORE = {"Cache-Control": "no-store"}


def init_app(config: SimulatorConfig) -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_simulator_ctx(config))
    app.on_shutdown.append(_stop)
    app.router.add_get("/", status)
    app.router.add_get("/cameras/{code}/snapshot.jpg", camera_snapshot)
    app.router.add_get("/cameras/{code}/mjpeg", camera_mjpeg)
    app.router.add_get("/mcu/{page:\\d+}/snapshot.jpg", mcu_snapshot)
    app.router.add_get("/mcu/{page:\\d+}/mjpeg", mcu_mjpeg)
    app.router.add_get("/mcu/{page:\\d+}/layout", mcu_layout)
    app.router.add_get("/truth", truth_all)
    app.router.add_get("/truth/{code}", truth_site)
    app.router.add_get("/faults", faults_list)
    app.router.add_post("/faults/{code}", faults_set)
    return app


def _simulator_ctx(config: SimulatorConfig):
    async def context(app: web.Application) -> AsyncIterator[None]:
        executor = make_executor(config.render_workers)
        executor.submit(int)  # start the render process(es) now, not with the first snapshot
        app[SIMULATOR] = Simulator(config, executor)
        yield
        # Wait for the render in flight (≤ 0.1 s): a pool left running at interpreter exit has
        # its wake-up pipe closed under it ("Bad file descriptor" from concurrent.futures).
        executor.shutdown(wait=True, cancel_futures=True)

    return context


async def _stop(app: web.Application) -> None:
    """Wake hanging `timeout` requests and end MJPEG streams, so shutdown is quick."""
    app[SIMULATOR].stopping.set()


def _camera(request: web.Request) -> Camera:
    camera = request.app[SIMULATOR].cameras.get(request.match_info["code"])
    if camera is None:
        raise web.HTTPNotFound(text=f"no site {request.match_info['code']}\n")
    return camera


def _page(request: web.Request) -> int:
    page = int(request.match_info["page"])
    if page >= request.app[SIMULATOR].pages():
        raise web.HTTPNotFound(text=f"no MCU page {page}\n")
    return page


async def _refuse(sim: Simulator, camera: Camera) -> None:
    """The faults that answer no picture at all: hang, or fail with 500."""
    if camera.fault == "timeout":
        await sim.pause(HANG)
        raise web.HTTPServiceUnavailable(text="simulator stopping\n")
    if camera.fault == "http500":
        raise web.HTTPInternalServerError(text="simulated camera fault\n")


async def camera_snapshot(request: web.Request) -> web.StreamResponse:
    sim, camera = request.app[SIMULATOR], _camera(request)
    await _refuse(sim, camera)
    if camera.fault == "garbage":
        body = cameras.garbage(random.randint(*GARBAGE_BYTES))
        return web.Response(body=body, content_type="image/jpeg", headers=NO_STORE)
    jpeg, state = await sim.frame(camera)
    headers = NO_STORE | ({"X-Simulator-State": str(state)} if state is not None else {})
    if camera.fault == "drop":
        return await _drop(request, jpeg, headers)
    return web.Response(body=jpeg, content_type="image/jpeg", headers=headers)


async def _drop(request: web.Request, jpeg: bytes, headers: dict) -> web.StreamResponse:
    """Announce the whole JPEG, send half of it, then close the connection."""
    response = web.StreamResponse(headers=headers | {"Content-Type": "image/jpeg"})
    response.content_length = len(jpeg)
    await response.prepare(request)
    await response.write(jpeg[: len(jpeg) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


async def camera_mjpeg(request: web.Request) -> web.StreamResponse:
    sim, camera = request.app[SIMULATOR], _camera(request)
    await _refuse(sim, camera)

    async def next_frame() -> tuple[bytes, int | None]:
        if camera.fault == "garbage":
            return cameras.garbage(random.randint(*GARBAGE_BYTES)), None
        return await sim.frame(camera)

    return await _stream(request, sim, next_frame, camera)


async def _stream(
    request: web.Request,
    sim: Simulator,
    next_frame: Callable[[], Awaitable[tuple[bytes, int | None]]],
    camera: Camera | None = None,
) -> web.StreamResponse:
    """An MJPEG stream: the current frame every interval until the client or server leaves.

    A fault set while streaming acts on the next part: `timeout` stalls the stream, `http500`
    ends it, `drop` cuts a part in half and closes the connection.
    """
    response = web.StreamResponse(
        headers=NO_STORE | {"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
    )
    await response.prepare(request)
    try:
        while not sim.stopping.is_set():
            fault = camera.fault if camera else None
            if fault == "http500" or (fault == "timeout" and await sim.pause(HANG)):
                break
            jpeg, state = await next_frame()
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
            head += f"X-Simulator-State: {state}\r\n" if state is not None else ""
            part = head.encode() + b"\r\n"
            if fault == "drop":
                await response.write(part + jpeg[: len(jpeg) // 2])
                if request.transport is not None:
                    request.transport.close()
                return response
            await response.write(part + jpeg + b"\r\n")
            if await sim.pause(sim.config.mjpeg_interval):
                break
        await response.write(f"--{BOUNDARY}--\r\n".encode())
    except ConnectionResetError:  # the client went away: the usual end of a stream
        pass
    return response


async def mcu_snapshot(request: web.Request) -> web.Response:
    sim, page = request.app[SIMULATOR], _page(request)
    jpeg = await sim.composite(page)
    return web.Response(body=jpeg, content_type="image/jpeg", headers=NO_STORE)


async def mcu_mjpeg(request: web.Request) -> web.StreamResponse:
    sim, page = request.app[SIMULATOR], _page(request)

    async def next_frame() -> tuple[bytes, int | None]:
        return await sim.composite(page), None

    return await _stream(request, sim, next_frame)


async def mcu_layout(request: web.Request) -> web.Response:
    sim, page = request.app[SIMULATOR], _page(request)
    codes = [c.code for c in sim.page(page)]
    return web.json_response(
        {
            "grid": f"{MCU_GRID}x{MCU_GRID}",
            "tiles": codes + [None] * (PAGE_SITES - len(codes)),
            "size": [sim.camera.mcu_width, sim.camera.mcu_height],
            "tile_size": list(sim.camera.tile),
        }
    )


async def truth_all(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    await sim.hall_facts(list(sim.cameras.values()))
    seconds, at = sim.seconds(), _now()
    sites = {
        code: sim.truth(camera, sim.occupancy(camera, seconds), detail=False)
        for code, camera in sim.cameras.items()
    }
    body = {"at": at, "started_at": _iso(sim.started_at), "seconds": round(seconds, 3)}
    return web.json_response(body | {"sites": sites})


async def truth_site(request: web.Request) -> web.Response:
    sim, camera = request.app[SIMULATOR], _camera(request)
    await sim.hall_facts([camera])
    if "state" in request.query:
        number = request.query["state"]
        if not number.isdigit():
            raise web.HTTPBadRequest(text="state must be a whole number ≥ 0\n")
        state = occupancy(camera.site, int(number))
    else:
        state = sim.occupancy(camera)
    body = {"at": _now(), "started_at": _iso(sim.started_at), "seconds": round(sim.seconds(), 3)}
    return web.json_response(body | sim.truth(camera, state, detail=True))


async def faults_list(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIMULATOR].faults())


async def faults_set(request: web.Request) -> web.Response:
    sim, camera = request.app[SIMULATOR], _camera(request)
    try:
        body = await request.json()
        kind = body["kind"]
        sim.set_fault(camera.code, kind)
    except (ValueError, KeyError, TypeError) as exc:
        message = f'expected JSON {{"kind": one of {", ".join(FAULTS)} or null}}: {exc}'
        raise web.HTTPBadRequest(text=message + "\n") from None
    return web.json_response({"code": camera.code, "fault": kind})


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIMULATOR].status())


def _now() -> str:
    return _iso(time.time())


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


async def serve(
    config: SimulatorConfig,
    port: int,
    ready: Callable[[str, Simulator], None],
    warm: Callable[[int], None] | None = None,
) -> None:
    """Serve on 127.0.0.1:`port` until Ctrl-C or SIGTERM; `warm`: draw every site first.

    The session clock starts when the server starts listening.
    """
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    runner = web.AppRunner(init_app(config), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        sim = runner.app[SIMULATOR]
        if warm is not None:
            await sim.warm(warm)
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        sim.restart_clock()
        host, bound = runner.addresses[0][:2]
        ready(f"http://{host}:{bound}", sim)
        await stop.wait()
    finally:
        await runner.cleanup()
