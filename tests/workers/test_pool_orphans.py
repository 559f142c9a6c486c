"""A killed parent takes its detection processes with it (issue 14, finding 7): `serve` killed
with SIGKILL used to leave its detection process (~300 MB of models) running under PID 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import asyncio, cv2
from attendance.vision.hall import HallSpec, render_hall
from workers.analysis import CountJob, Policy
from workers.pool import DetectionPool

frame, _ = render_hall(HallSpec(4, 320, 180, 2, 10, 30))
jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
job = CountJob("calibrate", Policy(300, 1800, 60), None, jpeg=jpeg)
pool = DetectionPool(1)
asyncio.run(pool.count(job))  # the process has started and counted
print("counted", flush=True)
input()  # until killed
"""


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, not yet reaped) counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_detection_processes_end_when_their_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout.readline().strip() == "counted"
        children = _children(parent.pid)
        assert children and all(_alive(pid) for pid in children)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid for pid in children if _alive(pid)}
    for pid in left:  # leave nothing behind for the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"detection processes {sorted(left)} outlived their parent"
