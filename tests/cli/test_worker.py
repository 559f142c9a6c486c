"""`attendance worker --embedded --minutes M`: every slot that starts in those minutes is
recorded, the last ones a few seconds after them (scheduling jitter), then a clean stop."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.cluster.harness import CADENCE, cluster
from workers.schedule import phase, slot_start


def test_embedded_worker_records_every_slot_of_its_minutes(cli, tmp_path):
    db = f"sqlite:///{tmp_path / 'attendance.db'}"
    with cluster(cli, db, "", "", tmp_path, 3) as running:
        env = running.env() | {"ATTENDANCE_SAMPLING_JITTER": "0.5"}  # last slots due late
        env.pop("ATTENDANCE_REDIS_URL"), env.pop("ATTENDANCE_REDIS_PREFIX")
        done = subprocess.run(
            [sys.executable, "-m", "attendance", "worker", "--embedded", "--minutes", "0.25"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert "stopped: samples" in done.stdout
        window = re.search(r"schedule window ([\d.]+) ([\d.]+)", done.stderr)
        started, until = float(window[1]), float(window[2])
        stored = {(code, slot.timestamp()) for code, slot, *_ in running.samples()}
    for n in range(3):
        code = f"S-{n:03d}"
        first = slot_start(started, CADENCE, phase(code, CADENCE))
        due = {first + k * CADENCE for k in range(10) if first + k * CADENCE < until}
        recorded = {slot for c, slot in stored if c == code}
        assert all(any(abs(slot - d) < 0.01 for slot in recorded) for d in due), (code, due)
