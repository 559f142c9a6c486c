"""The cluster benchmark: simulated cameras, K cluster worker processes, PostgreSQL and Redis.

Workers start together; after a warm-up (every site's first slot, the first counts) the
figures cover a window of M minutes, read from the database afterwards: slots due vs recorded,
lag from slot start to storage, samples/s and PostgreSQL rows/s, statuses, count error, and
RSS and CPU per worker (its detection process included).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy import func, select

from attendance.bench.imports import scratch_database
from attendance.bench.simulated import SimulatedSites
from attendance.bench.workers import (
    TreeMemory,
    attendance_cli,
    exclude_screens,
    free_port,
    iso,
    run,
    sample_figures,
    wait_for,
)
from attendance.config import DatabaseSettings
from attendance.examples.generate import example_sites, write_table
from attendance.store.db import make_engine, transaction
from attendance.store.models import AuditEvent, Sample, Site
from workers.schedule import as_datetime, phase, slot_start

LATE_S = 30.0


def bench_cluster(
    sites: int,
    cadence: int,
    minutes: float,
    workers: int,
    db: str,
    redis_url: str,
    report: Callable[[str], None],
    warmup: float = 2.0,
    seed: int = 2026,
    distinct: int | None = 1000,
    size: tuple[int, int] = (960, 540),
    processes: int = 1,
) -> dict:
    simulated = SimulatedSites(sites, seed, size, period=3600, distinct=distinct)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="attendance-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        started = time.time()
        simulator = subprocess.Popen(
            attendance_cli(*simulated.args(port)),
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "simulator.log").open("w"),
        )
        try:
            with scratch_database(db, workdir) as url:
                opened = datetime.fromisoformat(
                    wait_for(f"http://127.0.0.1:{port}/truth", 1200)["started_at"]
                ).timestamp()
                report(f"simulator: {sites} cameras ({distinct} halls, {size[0]}x{size[1]}) "
                       f"ready in {opened - started:.0f} s")  # fmt: skip
                _prepare(url, sites, seed, port, cadence, minutes + warmup + 5, workdir)
                env = os.environ | {
                    "ATTENDANCE_DATABASE_URL": url,
                    "ATTENDANCE_REDIS_URL": redis_url,
                    "ATTENDANCE_REDIS_PREFIX": prefix,
                    "ATTENDANCE_SAMPLING_PROCESSES": str(processes),
                    "ATTENDANCE_EVIDENCE_DIR": str(workdir / "evidence"),
                }
                report(f"{workers} workers; warm-up {warmup} min, then {minutes} min measured")
                running = [_start_worker(env, workdir, n) for n in range(workers)]
                memories = [TreeMemory(process.pid) for process in running]
                window_start = time.time() + warmup * 60
                window_end = window_start + minutes * 60
                # A slot of the window is recorded within LATE_S of its start, or it is late.
                time.sleep(max(0.0, window_end + LATE_S - time.time()))
                sampler_cpu = [_cpu_s(process.pid) for process in running]
                usage = _stop_workers(running)
                peaks = [memory.stop() for memory in memories]
                figures = _figures(url, window_start, window_end, cadence, opened, simulated)
        finally:
            simulator.terminate()
            simulator.wait(30)
            _forget(redis_url, prefix)
        logs = [(workdir / f"worker-{n}.log").read_text() for n in range(workers)]
    figures |= {
        "workers": workers,
        "rss_mb_per_worker": [round(peak) for peak in peaks],
        "cpu_s_per_worker": [round(seconds) for seconds in usage],
        "sampler_cpu_s_per_worker": [round(seconds) for seconds in sampler_cpu],
        "window_s": round(minutes * 60),
    }
    for key, value in figures.items():
        report(f"{key:>24}: {value}")
    for n, log in enumerate(logs):
        report(f"{'worker ' + str(n) + ' log tail':>24}: " + " | ".join(log.splitlines()[-2:]))
    return figures


def _prepare(url, sites, seed, port, cadence, minutes, workdir) -> None:
    rows = example_sites(sites, seed, stream_base=f"http://127.0.0.1:{port}/cameras")
    site_file = write_table(rows, workdir / "sites.csv", {name: name for name in rows[0]})
    run("init", "--db", url)
    run("sites", "import", str(site_file), "--db", url)
    exclude_screens(url, port, [row["site_code"] for row in rows])
    run("conference", "create", "BENCH", "--name", "Cluster benchmark", "--db", url)
    run("session", "create", "S1", "--conference", "BENCH", "--cadence", str(cadence),
        "--start", iso(time.time() - 60), "--end", iso(time.time() + minutes * 60),
        "--db", url)  # fmt: skip


def _cpu_s(pid: int) -> float:
    """CPU seconds of one process so far, its children (the detection pool) excluded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_worker(env: dict, workdir: Path, number: int) -> subprocess.Popen:
    return subprocess.Popen(
        attendance_cli("worker"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"worker-{number}.log").open("w"),
    )


def _stop_workers(running: list[subprocess.Popen]) -> list[float]:
    """SIGTERM each worker, wait for all; CPU seconds of each (its children included)."""
    for process in running:
        process.send_signal(signal.SIGTERM)
    usage = []
    for process in running:
        _, status, rusage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        usage.append(rusage.ru_utime + rusage.ru_stime)
    failed = [process.args for process in running if process.returncode]
    if failed:
        raise RuntimeError(f"workers failed: {failed}")
    return usage


def _forget(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        keys = list(client.scan_iter(pattern, count=5000))
        for start in range(0, len(keys), 5000):
            client.delete(*keys[start : start + 5000])
    client.close()


def _figures(url, start, end, cadence, opened, simulated: SimulatedSites) -> dict:
    """Slots of the window [start, end) and their samples."""
    engine = make_engine(DatabaseSettings(url=url))
    with transaction(engine) as session:
        codes = dict(session.execute(select(Site.id, Site.code)).all())
        in_window = Sample.slot >= as_datetime(start), Sample.slot < as_datetime(end)
        samples = session.execute(sample_figures().where(*in_window)).all()
        stored_in_window = {
            "samples": _count(session, Sample.created_at, start, end),
            "audit_events": _count(session, AuditEvent.at, start, end),
        }
    engine.dispose()
    due = 0
    for code in codes.values():
        slot = slot_start(start, cadence, phase(code, cadence))
        slot += cadence if slot < start else 0
        due += int(-(-(end - slot) // cadence))
    by_status: dict[str, int] = {}
    lags, errors = [], []
    for site_id, slot, status, count, captured_at, created_at in samples:
        by_status[status] = by_status.get(status, 0) + 1
        lags.append((created_at - slot).total_seconds())
        if count is not None and captured_at is not None:
            shown = simulated.visible_faces(codes[site_id], captured_at.timestamp() - opened)
            if shown:
                errors.append(abs(count - shown) / shown)
    window = end - start
    rows = stored_in_window["samples"] + stored_in_window["audit_events"]
    return {
        "slots_due": due,
        "slots_recorded": len(samples),
        "recorded_pct": round(100 * len(samples) / due, 2) if due else None,
        "recorded_by_status": by_status,
        "p50_lag_s": round(statistics.median(lags), 2) if lags else None,
        "p95_lag_s": round(statistics.quantiles(lags, n=20)[-1], 2) if len(lags) > 20 else None,
        "samples_per_s": round(len(samples) / window, 1),
        "postgres_rows_per_s": round(rows / window, 1),
        "count_error_pct": round(100 * statistics.mean(errors), 1) if errors else None,
    }


def _count(session, column, start: float, end: float) -> int:
    query = select(func.count()).where(column >= as_datetime(start), column < as_datetime(end))
    return session.scalar(query)
