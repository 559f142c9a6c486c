"""Batching sample rows, with the identifications of their faces, (and what workers learned of
cameras) into the database, off the event loop, retrying when it is away.

Each batch is one transaction that also appends one `samples.store` audit event listing the new
samples (see `record_samples`): the audit log grows by one event per batch, not per sample, and
appends wait for each other, so large batches are cheaper than many small ones.

Each failed attempt, and the first success after failures, is published on the bus
(attendance/live/writer_health.py): /readyz says not ready while a writer cannot store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from attendance.live.bus import EventBus
from attendance.live.writer_health import publish_outcome
from attendance.store.samples import record_samples
from attendance.store.sites import save_perspectives

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 0.5
MAX_BATCH = 500
MAX_RETRY_WAIT_S = 30.0


class SampleWriter:
    def __init__(self, engine: Engine, bus: EventBus | None = None, name: str = "writer"):
        """`name`: how readiness reports this writer (its worker's id)."""
        self.engine, self.bus, self.name = engine, bus or EventBus(), name
        self.last_error: str | None = None  # why the last attempt failed; None: it stored
        self.pending: list[dict[str, Any]] = []
        self.stored: list[asyncio.Future] = []  # one per pending row
        # (site id, slot) → Identification rows, stored in the transaction of their sample.
        self.faces: dict[tuple[int, datetime], list[dict[str, Any]]] = {}
        self.perspectives: dict[int, dict[str, Any]] = {}  # site id → Site.perspective
        self.written = 0
        self.duplicates = 0
        self._wake = asyncio.Event()

    def add(self, row: dict[str, Any], faces: list[dict[str, Any]] | None = None) -> asyncio.Future:
        """Queue a row; the future is done once its batch is committed (a cluster job waits
        for it, so a job is finished only when its sample is stored)."""
        stored = asyncio.get_running_loop().create_future()
        self.pending.append(row)
        self.stored.append(stored)
        if faces:
            self.faces[row["site_id"], row["slot"]] = faces
        if len(self.pending) >= MAX_BATCH:
            self._wake.set()
        return stored

    def learned(self, site_id: int, perspective: dict[str, Any]) -> None:
        self.perspectives[site_id] = perspective

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every FLUSH_EVERY_S until `stop`, then flush what is left."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_EVERY_S)
            self._wake.clear()
            await self.flush()
        await self.flush()

    def _outcome(self, error: str | None) -> None:
        self.last_error = error
        publish_outcome(self.bus, self.name, error)

    async def flush(self) -> None:
        wait = 1.0
        while self.pending:
            batch = self.pending[:MAX_BATCH]
            keys = [(row["site_id"], row["slot"]) for row in batch]
            faces = {key: self.faces[key] for key in keys if key in self.faces}
            try:
                new = await asyncio.to_thread(record_samples, self.engine, batch, faces)
            except OperationalError as exc:  # database away, locked or full: keep the rows
                log.warning(
                    "cannot store %d samples (%s); retrying in %.0f s", len(batch), exc.orig, wait
                )
                self._outcome(str(exc.orig))
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_S)
                continue
            if self.last_error is not None:
                self._outcome(None)
            del self.pending[: len(batch)]
            for stored in self.stored[: len(batch)]:
                if not stored.done():
                    stored.set_result(None)
            del self.stored[: len(batch)]
            for key in faces:
                del self.faces[key]
            self.written += new
            self.duplicates += len(batch) - new
        if self.perspectives:
            learned, self.perspectives = self.perspectives, {}
            try:
                await asyncio.to_thread(save_perspectives, self.engine, learned)
            except OperationalError as exc:  # only a cache: the next calibration stores it
                log.warning("cannot store %d perspectives (%s)", len(learned), exc.orig)
