"""The embedded runtime: schedule every site's slots, grab, analyse, store, publish.

One asyncio loop does the network (every source) and the bookkeeping; detection runs in the
process pool; samples reach the database in batches. A failed grab is a sample with a status,
never a gap. On stop, samples already in flight get a grace period, the rest are recorded as
`interrupted`, and everything pending is written before returning.

A counted sample's evidence image is stored (off the loop) before its row goes to the writer, so
the row carries the image's hash; an image that cannot be written costs the image, not the
sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import random
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine

from attendance import evidence
from attendance.config import EvidenceSettings, IdentifySettings, SamplingSettings, mask_url
from attendance.events import EventBus
from attendance.status import StatusBoard
from attendance.store.faces import site_galleries
from attendance.store.identifications import last_stranger_labels
from attendance.store.models import ConferenceSession, SampleStatus, Site
from attendance.store.samples import active_session, next_session, recorded_slots, sampled_sites
from attendance.vision.evidence import EvidenceStyle
from attendance.vision.perspective import Perspective
from attendance.vision.roi import Roi, RoiError
from workers.analysis import Policy, SiteMemory, postpone, screen, settle
from workers.detection import DetectionQueue
from workers.identification import SiteIdentity
from workers.pool import DetectionPool
from workers.schedule import as_datetime, phase, slot_start
from workers.sources import check_stream_url, open_source
from workers.sources.base import FrameSource, SourceError
from workers.writer import SampleWriter

log = logging.getLogger("attendance.worker")
STOP_GRACE_S = 10.0
REPORT_EVERY_S = 30.0
SESSION_POLL_S = 15.0


@dataclass
class SiteRun:
    """A site being sampled: its stream, its vision memory, its next slot."""

    site: Site
    cadence: float
    policy: Policy
    source: FrameSource | None = None
    memory: SiteMemory = field(default_factory=SiteMemory)
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    counted_slot: str | None = None  # the slot whose count a gated sample reuses
    wanted_since: float | None = None  # first frame that needed a count since the last count
    identity: SiteIdentity | None = None  # None: nobody of its roster enrolled, faces only counted


@dataclass
class Progress:
    by_status: dict[str, int] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)
    detections: int = 0
    gated: int = 0

    def add(self, status: str, lag: float) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.lags.append(lag)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class EmbeddedRuntime:
    def __init__(
        self,
        engine: Engine,
        sampling: SamplingSettings,
        bus: EventBus | None = None,
        pool: DetectionPool | None = None,
        identify: IdentifySettings | None = None,
        evidence: EvidenceSettings | None = None,
    ):
        self.engine, self.sampling = engine, sampling
        self.identify = identify or IdentifySettings()
        self.evidence = evidence or EvidenceSettings()
        self.bus = bus or EventBus()
        self.pool = pool or DetectionPool(sampling.processes)
        self.detection = DetectionQueue(self.pool)
        self.writer = SampleWriter(engine)
        self.board = StatusBoard(sampling.stale_after_s, sampling.offline_after_s)
        self.progress = Progress()
        self.worker = worker_id()
        self.rng = random.Random()
        self.skipped: dict[str, str] = {}  # site code -> why it is not sampled
        self.window: tuple[float, float] | None = None
        self._grabs = asyncio.Semaphore(sampling.max_grabs)
        self._tasks: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event, until: float | None = None) -> Progress:
        """Sample until `stop` is set, `until` (epoch s) passes or the session ends."""
        session = await self._wait_for_session(stop, until)
        if session is None:
            return self.progress
        ends = (
            session.ends_at.timestamp()
            if until is None
            else min(until, session.ends_at.timestamp())
        )
        runs = self._site_runs(session)
        log.info(
            "session %s: sampling %d sites until %s", session.code, len(runs), as_datetime(ends)
        )
        started = time.time()
        self.window = (started, ends)  # slots from the one holding `started` until `ends`
        log.info("schedule window %.3f %.3f", started, ends)  # read by `attendance bench workers`
        writer = asyncio.create_task(self.writer.run(stop_writer := asyncio.Event()))
        # No pool limit: every open MJPEG camera holds a connection for good; `max_grabs` bounds
        # the grabs in flight instead.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            try:
                await self._schedule(runs, session, http, stop, started, ends)
            finally:
                await self._finish(runs)
                stop_writer.set()
                await writer
        return self.progress

    async def _wait_for_session(
        self, stop: asyncio.Event, until: float | None
    ) -> ConferenceSession | None:
        """The active session, waiting for the next one to start if none is running."""
        while not stop.is_set() and (until is None or time.time() < until):
            session = active_session(self.engine, as_datetime(time.time()))
            if session is not None:
                return session
            upcoming = next_session(self.engine, as_datetime(time.time()))
            log.info(
                "no active session; %s",
                f"next: {upcoming.code} at {upcoming.starts_at}" if upcoming else "none planned",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SESSION_POLL_S)
        return None

    def _site_runs(self, session: ConferenceSession) -> list[SiteRun]:
        runs = []
        sites = sampled_sites(self.engine)
        galleries = site_galleries(self.engine, [site.id for site in sites])
        strangers = last_stranger_labels(self.engine, session.id)
        for site in sites:
            problem = (
                "no stream URL"
                if not site.stream_url
                else check_stream_url(site.stream_url, site.stream_options)
            )
            try:
                roi = Roi.from_json(site.roi) if site.roi else Roi()
            except RoiError as exc:
                problem = problem or f"ROI: {exc}"
            if problem:
                self.skipped[site.code] = problem
                log.error("site %s skipped: %s (%s)", site.code, problem, mask_url(site.stream_url))
                continue
            cadence = float(site.cadence_s or session.cadence_s or self.sampling.cadence_s)
            identity = (
                SiteIdentity.load(galleries[site.id], self.identify, strangers.get(site.id, 0))
                if site.id in galleries
                else None
            )
            policy = Policy(
                recount_every_s=self.sampling.recount_every_s,
                refresh_every_s=self.sampling.refresh_every_s,
                frozen_after_s=self.sampling.frozen_after_s,
                quality=self.sampling.quality,
                model=self.sampling.model,
                roi=roi,
                identify=identity is not None,
                min_face_px=self.identify.min_face_px,
                evidence=self._evidence_style(),
            )
            runs.append(SiteRun(site, cadence, policy, memory=_remembered(site), identity=identity))
        log.info("identifying faces at %d sites", sum(run.identity is not None for run in runs))
        return runs

    def _evidence_style(self) -> EvidenceStyle | None:
        settings = self.evidence
        if not settings.enabled:
            return None
        return EvidenceStyle(settings.max_width, settings.jpeg_quality, settings.blur_faces)

    async def _schedule(
        self,
        runs: list[SiteRun],
        session: ConferenceSession,
        http: aiohttp.ClientSession,
        stop: asyncio.Event,
        now: float,
        ends: float,
    ) -> None:
        done = recorded_slots(
            self.engine,
            [run.site.id for run in runs],
            as_datetime(now - 2 * self.sampling.cadence_s),
        )
        queue: list[tuple[float, int, float]] = []
        for index, run in enumerate(runs):
            slot = slot_start(now, run.cadence, phase(run.site.code, run.cadence))
            if (run.site.id, as_datetime(slot)) in done:
                slot += run.cadence  # a restart: this slot is already stored
            heapq.heappush(queue, (self._due(slot, run), index, slot))
        next_report = now + REPORT_EVERY_S
        while queue and not stop.is_set():
            due, index, slot = queue[0]
            if slot >= ends:
                heapq.heappop(queue)
                continue
            wait = due - time.time()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(wait, 1.0))
                if time.time() >= next_report:
                    self._report()
                    next_report += REPORT_EVERY_S
                continue
            heapq.heappop(queue)
            run = runs[index]
            task = asyncio.create_task(self._sample(run, slot, session, http))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            heapq.heappush(queue, (self._due(slot + run.cadence, run), index, slot + run.cadence))

    def _due(self, slot: float, run: SiteRun) -> float:
        return slot + self.rng.uniform(0, self.sampling.jitter * run.cadence)

    async def _sample(
        self, run: SiteRun, slot: float, session: ConferenceSession, http: aiohttp.ClientSession
    ) -> None:
        row: dict[str, Any] = {
            "site_id": run.site.id,
            "session_id": session.id,
            "slot": as_datetime(slot),
            "worker_id": self.worker,
        }
        faces: list[dict[str, Any]] = []
        try:
            async with run.busy:  # one sample of a site at a time: its memory is sequential
                figures, faces = await self._grab_and_analyse(run, slot, http)
                row |= figures
        except asyncio.CancelledError:
            row |= {"status": SampleStatus.INTERRUPTED, "error": "worker stopped"}
            self._store(run, row, slot)
            raise
        except Exception as exc:  # a bug must cost one sample, never the worker
            log.exception("site %s, slot %s: sampling failed", run.site.code, as_datetime(slot))
            row |= {"status": SampleStatus.ERROR, "error": f"{type(exc).__name__}: {exc}"}
        self._store(run, row, slot, faces)

    async def _grab_and_analyse(
        self, run: SiteRun, slot: float, http: aiohttp.ClientSession
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The sample's figures, and the Identification rows of its faces (if it counted)."""
        faces: list[dict[str, Any]] = []
        evidence_sha256 = None
        async with self._grabs:
            if run.source is None:
                run.source = open_source(run.site.stream_url, run.site.stream_options, http)
            try:
                frame = await run.source.grab(self.sampling.grab_timeout_s)
            except SourceError as exc:
                return {"status": exc.failure.value, "error": str(exc)}, faces
        now = frame.captured_at.timestamp()
        screening = await asyncio.to_thread(
            screen, now, run.memory, run.policy, frame.jpeg, frame.image
        )
        if screening.done is not None:
            analysis = screening.done
        else:
            run.wanted_since = run.wanted_since or now
            counted = await self.detection.count(
                screening.job,
                screening.urgency,
                run.wanted_since,
                deadline=time.time() + self.sampling.detect_wait_s,
            )
            if counted is None:
                analysis = postpone(run.memory, screening)
            else:
                run.wanted_since = None
                analysis = settle(now, run.memory, screening, counted.result)
                evidence_sha256 = await self._keep_evidence(run, counted.evidence)
                if run.identity is not None:
                    faces = run.identity.identify(counted.result.boxes, counted.encodings)
                    run.memory.identified = tuple(run.identity.last)
                if screening.job.mode == "calibrate" and run.memory.perspective is not None:
                    self.writer.learned(run.site.id, _perspective_json(run.memory))
        detector = dict(analysis.detector)
        if analysis.status == SampleStatus.OK:
            self.progress.detections += 1
            run.counted_slot = as_datetime(slot).isoformat()
        elif analysis.status == SampleStatus.GATED:
            self.progress.gated += 1
            detector["counted_slot"] = run.counted_slot
        detector["flags"] = list(analysis.flags)
        if analysis.size:
            detector["size"] = list(analysis.size)  # width, height: to draw boxes on the frame
        return {
            "status": analysis.status,
            "captured_at": frame.captured_at,
            "face_count": analysis.face_count,
            "boxes": analysis.boxes,
            "detector": detector,
            "timings": analysis.timings or None,
            "frame_hash": analysis.frame_hash,
            "evidence_sha256": evidence_sha256,
            "error": analysis.error,
        }, faces

    async def _keep_evidence(self, run: SiteRun, jpeg: bytes | None) -> str | None:
        """Store a counted frame's evidence image; its hash, or None when there is none."""
        if jpeg is None:
            return None
        try:
            return await asyncio.to_thread(evidence.store, Path(self.evidence.dir), jpeg)
        except OSError as exc:  # disk full, no permission: the sample is stored without it
            log.error("site %s: evidence image not stored: %s", run.site.code, exc)
            return None

    def _store(
        self,
        run: SiteRun,
        row: dict[str, Any],
        slot: float,
        faces: list[dict[str, Any]] | None = None,
    ) -> None:
        now = time.time()
        status = str(row["status"])
        row["status"] = status
        self.writer.add(row, faces)
        # A slot that began before the worker did is late only from the worker's start.
        lag = now - max(slot, self.window[0])
        self.progress.add(status, lag)
        self.bus.publish(
            "sample",
            {
                "site": run.site.code,
                "slot": row["slot"].isoformat(),
                "status": status,
                "count": row.get("face_count"),
                "lag_s": round(lag, 2),
                "detect_ms": (row.get("timings") or {}).get("total"),
            },
        )
        change = self.board.update(run.site.code, status, now)
        if change:
            self._status_changed(run.site.code, *change)

    def _status_changed(self, code: str, status: str, reason: str) -> None:
        log.info("site %s is %s: %s", code, status, reason)
        self.bus.publish("site_status", {"site": code, "status": status, "reason": reason})

    def _report(self) -> None:
        for code, status, reason in self.board.tick(time.time()):
            self._status_changed(code, status, reason)
        lags = self.progress.lags[-5000:]
        p95 = statistics.quantiles(lags, n=20)[-1] if len(lags) >= 20 else max(lags, default=0)
        log.info(
            "samples %s; detections %d, gated %d; lag p95 %.1f s; detection queue %d, "
            "dropped %d; sites %s",
            self.progress.by_status,
            self.progress.detections,
            self.progress.gated,
            p95,
            self.detection.waiting,
            self.detection.dropped,
            self.board.counts(),
        )

    async def _finish(self, runs: list[SiteRun]) -> None:
        if self._tasks:
            log.info("stopping: %d samples in flight", len(self._tasks))
            _, late = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for run in runs:
            if run.source is not None:
                await run.source.close()


def _remembered(site: Site) -> SiteMemory:
    """What an earlier run learned of the site's camera, so its first count is not a cold start."""
    stored = site.perspective or {}
    try:
        model = Perspective.from_json(stored["model"])
        learned_at = float(stored["learned_at"])
    except (KeyError, TypeError, ValueError):
        return SiteMemory()  # never learned, or written by another version: learn it again
    return SiteMemory(perspective=model, learned_at=learned_at)


def _perspective_json(memory: SiteMemory) -> dict[str, Any]:
    return {"model": memory.perspective.to_json(), "learned_at": memory.learned_at}
