"""The sampling benchmark: a simulator of N cameras, an embedded worker, M minutes, figures.

Simulator and worker run as separate processes, as they would in production (the simulator
stands in for the cameras). Figures come from the database afterwards: slots due vs recorded,
lag from slot start to storage, detections vs gated frames, and the count error against the
simulator's ground truth for the moment each frame was captured.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select

from attendance.config import DatabaseSettings
from attendance.examples.generate import example_sites, write_table
from attendance.simulate.cameras import CameraSettings, site_profile
from attendance.simulate.occupancy import SiteProfile, occupancy_at
from attendance.store.db import make_engine, transaction
from attendance.store.models import Sample, Site
from attendance.store.sites import set_roi
from attendance.vision.roi import Roi
from workers.schedule import as_datetime, phase, slot_start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def attendance_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "attendance", *args]


def run(*args: str) -> str:
    done = subprocess.run(attendance_cli(*args), capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"attendance {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


class TreeMemory:
    """Peak resident memory of a process and its children (the detection pool), sampled."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def _tree_rss_mb(root: int) -> float:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
        rss[int(entry.name)] = pages
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def wait_for(url: str, seconds: float) -> dict:
    """The simulator's JSON at `url` once it answers (it draws every hall before opening)."""
    deadline = time.time() + seconds
    while True:
        try:
            return json.loads(urllib.request.urlopen(url, timeout=5).read())
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(1.0)


def simulator_truth(seed: int) -> Callable[[str, float], int]:
    """Visible faces a simulated site showed `seconds` after the simulator started."""
    camera = CameraSettings(1280, 720)
    profiles: dict[str, SiteProfile] = {}

    def visible(code: str, seconds: float) -> int:
        if code not in profiles:
            profiles[code] = site_profile(camera, seed, code)
        return occupancy_at(profiles[code], seconds).counts()["visible_faces"]

    return visible


def bench_workers(
    sites: int,
    cadence: int,
    minutes: float,
    seed: int,
    report: Callable[[str], None],
    rehearsal: float = 0.0,
) -> dict:
    """Run the simulator and an embedded worker for `minutes`, then read the figures.

    With `rehearsal` minutes, a worker first runs that long and its samples are deleted: what
    it learned of each camera (the stored perspectives) is kept, as after a connection test
    before a real conference."""
    truth = simulator_truth(seed)
    with tempfile.TemporaryDirectory(prefix="attendance-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        db = f"sqlite:///{workdir / 'bench.db'}"
        rows = example_sites(sites, seed, stream_base=f"http://127.0.0.1:{port}/cameras")
        site_file = write_table(rows, workdir / "sites.csv", {name: name for name in rows[0]})
        simulator = subprocess.Popen(
            attendance_cli(
                "simulate",
                "sites",
                "--count",
                str(sites),
                "--port",
                str(port),
                "--seed",
                str(seed),
                "--size",
                "1280x720",
                "--warm",
            ),
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "simulator.log").open("w"),
        )
        try:
            started_at = wait_for(f"http://127.0.0.1:{port}/truth", 600)["started_at"]
            simulator_started = datetime.fromisoformat(started_at).timestamp()
            run("init", "--db", db)
            run("sites", "import", str(site_file), "--db", db)
            exclude_screens(db, port, [row["site_code"] for row in rows])
            run("conference", "create", "BENCH", "--name", "Benchmark", "--db", db)
            run(
                "session",
                "create",
                "S1",
                "--conference",
                "BENCH",
                "--start",
                iso(time.time() - 60),
                "--end",
                iso(time.time() + minutes * 60 + 600),
                "--cadence",
                str(cadence),
                "--db",
                db,
            )
            if rehearsal:
                report(f"rehearsal: a worker learns the {sites} cameras for {rehearsal} min")
                _run_worker(db, rehearsal, workdir / "rehearsal.log")
                _forget_samples(db)
            report(f"{sites} simulated 1280x720 cameras on port {port}; worker runs {minutes} min")
            peak_mb, usage, log = _run_worker(db, minutes, workdir / "worker.log")
            window = re.search(r"schedule window ([\d.]+) ([\d.]+)", log)
            if window is None:
                raise RuntimeError(f"the worker did not report its schedule:\n{log[-4000:]}")
        finally:
            simulator.terminate()
            simulator.wait(10)
        cpu_s = usage.ru_utime + usage.ru_stime
        first, until = float(window.group(1)), float(window.group(2))
        figures = _figures(db, first, until, cadence, simulator_started, truth)
        figures |= {
            "peak_rss_mb": round(peak_mb),
            "cpu_s_per_sample": round(cpu_s / max(1, figures["slots_recorded"]), 4),
        }
    for key, value in figures.items():
        report(f"{key:>24}: {value}")
    report(f"{'worker log tail':>24}: " + " | ".join(log.strip().splitlines()[-3:]))
    return figures


def _run_worker(db: str, minutes: float, log_path: Path) -> tuple[float, Any, str]:
    """Run an embedded worker to its end: peak RSS of its process tree, its usage, its log."""
    worker = subprocess.Popen(
        attendance_cli("worker", "--embedded", "--minutes", str(minutes), "--db", db),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    memory = TreeMemory(worker.pid)
    _, status, usage = os.wait4(worker.pid, 0)
    peak_mb = memory.stop()
    log = log_path.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the worker failed:\n{log[-4000:]}")
    return peak_mb, usage, log


def _forget_samples(db: str) -> None:
    engine = make_engine(DatabaseSettings(url=db))
    with transaction(engine) as session:
        session.execute(delete(Sample))
    engine.dispose()


def exclude_screens(db: str, port: int, codes: list[str]) -> None:
    """Give sites with a screen the ROI an operator would draw: everything but the screen."""
    engine = make_engine(DatabaseSettings(url=db))
    for code in codes:
        screen = wait_for(f"http://127.0.0.1:{port}/truth/{code}", 30).get("screen")
        if screen:
            set_roi(engine, code, Roi(exclude=(tuple(map(tuple, screen)),)).to_json())
    engine.dispose()


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


def sample_figures() -> Select:
    """What a benchmark reads of each sample: site, slot, status, count, when captured and
    when stored."""
    return select(
        Sample.site_id,
        Sample.slot,
        Sample.status,
        Sample.face_count,
        Sample.captured_at,
        Sample.created_at,
    )


def _figures(db, started, ended, cadence, simulator_started, truth) -> dict:
    engine = make_engine(DatabaseSettings(url=db))
    with transaction(engine) as session:
        codes = dict(session.execute(select(Site.id, Site.code)).all())
        samples = session.execute(sample_figures()).all()
    engine.dispose()
    due = 0
    for code in codes.values():  # the worker's window: from the slot it started in to `until`
        slot = slot_start(started, cadence, phase(code, cadence))
        due += int(-(-(ended - slot) // cadence))
    by_status: dict[str, int] = {}
    lags, errors, relative = [], [], []
    for site_id, slot, status, count, captured_at, created_at in samples:
        by_status[status] = by_status.get(status, 0) + 1
        lags.append((created_at - max(slot, as_datetime(started))).total_seconds())
        if count is not None and captured_at is not None:
            shown = truth(codes[site_id], captured_at.timestamp() - simulator_started)
            errors.append(abs(count - shown))
            if shown:
                relative.append(abs(count - shown) / shown)
    recorded = len(samples)
    return {
        "slots_due": due,
        "slots_recorded": recorded,
        "recorded_by_status": by_status,
        "p50_lag_s": round(statistics.median(lags), 2) if lags else None,
        "p95_lag_s": round(statistics.quantiles(lags, n=20)[-1], 2) if len(lags) > 20 else None,
        "detections": by_status.get("ok", 0),
        "gated": by_status.get("gated", 0),
        "count_mae": round(statistics.mean(errors), 2) if errors else None,
        "count_mae_pct": round(100 * statistics.mean(relative), 1) if relative else None,
    }
