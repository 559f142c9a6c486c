"""The embedded runtime against the real simulator: a counted sample is stored with the hash of
its evidence image, and one whose image cannot be written is stored without it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from attendance.audit import evidence
from attendance.config import EvidenceSettings
from attendance.store.db import transaction
from attendance.store.models import Sample
from tests.simulate.harness import CODES, run, running
from tests.workers.test_runtime import SAMPLING, _prepare
from workers.pool import DetectionPool
from workers.runtime import EmbeddedRuntime

# Both sites' first frames are counted, however slowly the detection process starts.
PATIENT = SAMPLING.model_copy(update={"detect_wait_s": 30})


async def _sample(tmp_path: Path, settings: EvidenceSettings) -> list[tuple]:
    async with running(codes=CODES[:2]) as simulator:
        engine = _prepare(tmp_path, str(simulator.server.make_url("/")), CODES[:2])
        runtime = EmbeddedRuntime(engine, PATIENT, pool=DetectionPool(1), evidence=settings)
        try:
            await runtime.run(asyncio.Event(), time.time() + 6)
        finally:
            runtime.pool.close()
    with transaction(engine) as session:
        return session.execute(select(Sample.status, Sample.evidence_sha256)).all()


def test_counted_samples_carry_their_evidence_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The first image cannot be written (its directory would be under a file): that sample is
    stored, counted, without a hash. The others hold the hash of a file with those bytes, a
    JPEG downscaled to `max_width`; samples that did not count have none."""
    settings = EvidenceSettings(dir=str(tmp_path / "evidence"), max_width=160)
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")
    store, calls = evidence.store, []

    def first_fails(root: Path, jpeg: bytes) -> str:
        calls.append(root)
        return store(blocked if len(calls) == 1 else root, jpeg)

    monkeypatch.setattr(evidence, "store", first_fails)
    with caplog.at_level(logging.ERROR, "attendance.worker"):
        samples = run(_sample(tmp_path, settings))
    assert "evidence image not stored" in caplog.text
    counted = [sha256 for status, sha256 in samples if status == "ok"]
    assert len(counted) >= 2 and counted.count(None) == 1, samples
    assert all(sha256 is None for status, sha256 in samples if status != "ok")
    for sha256 in filter(None, counted):
        data = evidence.path_of(Path(settings.dir), sha256).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[:2] == (90, 160)  # the simulator's 320×180 frame, halved
