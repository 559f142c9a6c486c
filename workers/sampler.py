"""Sampling one slot of one site: grab, screen, count, identify, keep evidence, store, publish.

The same code runs in the embedded runtime (which schedules slots itself) and in cluster
workers (which get slots as arq jobs). One `Sampler` per process holds what sites share: the
detection pool and its priority queue, the sample writer, the bound on grabs in flight and the
event bus. A failed grab is a sample with a status, never a gap; a bug
costs one sample, never the worker.

A counted sample's evidence image is stored (off the loop) before its row goes to the writer, so
the row carries the image's hash; an image that cannot be written costs the image, not the
sample.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine

from attendance.audit import evidence
from attendance.clock import SYSTEM, Clock
from attendance.config import EvidenceSettings, IdentifySettings, SamplingSettings
from attendance.live.bus import EventBus
from attendance.live.events import SampleEvent
from attendance.store.models import SampleStatus, Site
from attendance.vision.evidence import EvidenceStyle
from attendance.vision.perspective import Perspective
from attendance.vision.roi import Roi, RoiError
from workers.analysis import Policy, SiteMemory, postpone, screen, settle
from workers.detection import DetectionQueue
from workers.identification import SiteIdentity
from workers.pool import DetectionPool
from workers.schedule import as_datetime
from workers.sources import check_stream_url, open_source
from workers.sources.base import FrameSource, SourceError
from workers.writer import SampleWriter

log = logging.getLogger("attendance.worker")


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


def site_problem(site: Site) -> str | None:
    """Why a site cannot be sampled (no or bad stream URL, bad ROI), or None."""
    if not site.stream_url:
        return "no stream URL"
    problem = check_stream_url(site.stream_url, site.stream_options)
    if problem:
        return problem
    try:
        Roi.from_json(site.roi) if site.roi else Roi()
    except RoiError as exc:
        return f"ROI: {exc}"
    return None


def site_cadence(site: Site, session_cadence: int | None, sampling: SamplingSettings) -> float:
    return float(site.cadence_s or session_cadence or sampling.cadence_s)


class Sampler:
    """What the sites sampled by one process share; `sample` records one slot of one site."""

    def __init__(
        self,
        engine: Engine,
        sampling: SamplingSettings,
        bus: EventBus | None = None,
        pool: DetectionPool | None = None,
        identify: IdentifySettings | None = None,
        evidence: EvidenceSettings | None = None,
        clock: Clock = SYSTEM,
    ):
        self.engine, self.sampling, self.clock = engine, sampling, clock
        self.identify = identify or IdentifySettings()
        self.evidence = evidence or EvidenceSettings()
        self.bus = bus or EventBus()
        self.pool = pool or DetectionPool(sampling.processes, sampling.model)
        self.detection = DetectionQueue(self.pool)
        self.worker = worker_id()
        self.writer = SampleWriter(engine, self.bus, self.worker)
        self.progress = Progress()
        self.started = clock.now()  # a slot that began before is late only from then
        self._grabs = asyncio.Semaphore(sampling.max_grabs)

    def site_run(
        self, site: Site, cadence: float, gallery: Any = None, strangers: int = 0
    ) -> SiteRun:
        """A site ready to sample (`site_problem` must have said None)."""
        identity = (
            SiteIdentity.load(gallery, self.identify, strangers) if gallery is not None else None
        )
        policy = Policy(
            recount_every_s=self.sampling.recount_every_s,
            refresh_every_s=self.sampling.refresh_every_s,
            frozen_after_s=self.sampling.frozen_after_s,
            quality=self.sampling.quality,
            model=self.sampling.model,
            roi=Roi.from_json(site.roi) if site.roi else Roi(),
            identify=identity is not None,
            min_face_px=self.identify.min_face_px,
            evidence=self._evidence_style(),
            seat_keep_counts=self.sampling.seat_keep_counts,
            seat_keep_s=self.sampling.seat_keep_s,
        )
        return SiteRun(site, cadence, policy, memory=_remembered(site), identity=identity)

    async def sample(
        self, run: SiteRun, slot: float, session_id: int, http: aiohttp.ClientSession
    ) -> asyncio.Future:
        """Record `slot` of the site; the future is done once the row is in the database."""
        row: dict[str, Any] = {
            "site_id": run.site.id,
            "session_id": session_id,
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
        return self._store(run, row, slot, faces)

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
                # The pool's time, not the schedule's: a real wait on a real process.
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
            "remembered": analysis.remembered,
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
    ) -> asyncio.Future:
        now = self.clock.now()
        status = str(row["status"])
        row["status"] = status
        stored = self.writer.add(row, faces)
        # A slot that began before the worker did is late only from the worker's start.
        lag = now - max(slot, self.started)
        self.progress.add(status, lag)
        count, detect_ms = row.get("face_count"), (row.get("timings") or {}).get("total")
        self.bus.publish(
            SampleEvent(
                site=run.site.code,
                slot=row["slot"],
                status=status,
                count=None if count is None else int(count),
                lag_s=round(lag, 2),
                detect_ms=None if detect_ms is None else float(detect_ms),
            )
        )
        return stored

    def report(self) -> None:
        """The worker's progress in the log. A site's status is not judged here: the web nodes
        judge it from every worker's samples (`attendance.live.status`), so a site that moves to
        another worker is not left behind on this one's board, going stale."""
        lags = self.progress.lags[-5000:]
        p95 = statistics.quantiles(lags, n=20)[-1] if len(lags) >= 20 else max(lags, default=0)
        log.info(
            "samples %s; detections %d, gated %d; lag p95 %.1f s; detection queue %d, dropped %d",
            self.progress.by_status,
            self.progress.detections,
            self.progress.gated,
            p95,
            self.detection.waiting,
            self.detection.dropped,
        )

    async def close(self, runs: list[SiteRun]) -> None:
        """Close the sites' streams."""
        for run in runs:
            if run.source is not None:
                await run.source.close()
                run.source = None

    def _evidence_style(self) -> EvidenceStyle | None:
        settings = self.evidence
        if not settings.enabled:
            return None
        return EvidenceStyle(settings.max_width, settings.jpeg_quality, settings.blur_faces)


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
