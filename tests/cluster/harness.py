"""A small real cluster for tests: worker processes (`attendance worker`), PostgreSQL, Redis,
and cameras served over HTTP on loopback (real photos, one per site).

Timings are shortened so failover shows within seconds: 5-s cadence, 3-s lease, workers dead
after 2 s of silence.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
from sqlalchemy import Engine, select

from attendance.config import DatabaseSettings
from attendance.store.db import make_engine
from attendance.store.models import Sample, Site
from tests.helpers import PHOTOS, site, write_sites

CADENCE = 5
SETTINGS = {
    "ATTENDANCE_REDIS_LEASE_S": "3",
    "ATTENDANCE_REDIS_HEARTBEAT_S": "0.5",
    "ATTENDANCE_REDIS_WORKER_TTL_S": "2",
    "ATTENDANCE_SAMPLING_PROCESSES": "1",
    "ATTENDANCE_SAMPLING_JITTER": "0",
}


@contextmanager
def cameras(count: int) -> Iterator[list[str]]:
    """`count` cameras answering snapshot GETs with a real photo; yields their URLs."""
    photos = [path.read_bytes() for path in sorted(PHOTOS.glob("*.jpg"))]

    class Camera(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            index = int(self.path.strip("/").split(".")[0])
            body = photos[index % len(photos)]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield [f"http://127.0.0.1:{port}/{index}.jpg" for index in range(count)]
    server.shutdown()
    server.server_close()


@dataclass
class Cluster:
    db_url: str
    redis_url: str
    prefix: str
    workdir: Path
    engine: Engine
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("ATTENDANCE_")}
        return (
            keep
            | SETTINGS
            | {
                "ATTENDANCE_DATABASE_URL": self.db_url,
                "ATTENDANCE_REDIS_URL": self.redis_url,
                "ATTENDANCE_REDIS_PREFIX": self.prefix,
                "ATTENDANCE_EVIDENCE_DIR": str(self.workdir / "evidence"),
            }
        )

    def start_worker(self, name: str) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "attendance", "worker"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        self.workers[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.workers[name]
        process.send_signal(sig)
        process.wait(30)

    def stop_all(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.terminate()
        for process in self.workers.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    def leader(self) -> str | None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            value = client.get(f"{self.prefix}:scheduler:leader")
        finally:
            client.close()
        return value.decode() if value else None

    def worker_of(self, holder: str) -> str:
        """The name of the worker process whose id (host:pid:tag) is `holder`."""
        pid = int(holder.split(":")[1])
        return next(name for name, process in self.workers.items() if process.pid == pid)

    def samples(self) -> list[tuple[str, datetime, str, str, datetime]]:
        """(site code, slot, worker pid, status, stored at) of every sample."""
        query = select(Site.code, Sample.slot, Sample.worker_id, Sample.status, Sample.created_at)
        with self.engine.connect() as connection:
            rows = connection.execute(query.join(Site, Sample.site_id == Site.id)).all()
        return [
            (code, slot, worker.split(":")[-1], status, at)
            for code, slot, worker, status, at in rows
        ]

    def pid(self, name: str) -> str:
        return str(self.workers[name].pid)


def wait_until(check: Callable[[], object], seconds: float, what: str, cluster: Cluster):
    deadline = time.time() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            logs = "\n".join(f"--- {name}\n{cluster.log(name)[-3000:]}" for name in cluster.workers)
            raise AssertionError(f"{what}: not within {seconds} s\n{logs}")
        time.sleep(0.2)


@contextmanager
def cluster(cli, db_url: str, redis_url: str, prefix: str, workdir: Path, sites: int):
    """An initialised database with `sites` camera sites and a session running now."""
    with cameras(sites) as urls:
        rows = [site(f"S-{n:03d}", stream_url=url) for n, url in enumerate(urls)]
        now = datetime.now(UTC)
        for args in (
            ("init",),
            ("sites", "import", write_sites(workdir / "sites.csv", rows)),
            ("conference", "create", "C1", "--name", "Cluster test"),
            ("session", "create", "S1", "--conference", "C1", "--cadence", str(CADENCE),
             "--start", (now - timedelta(minutes=1)).isoformat(),
             "--end", (now + timedelta(hours=1)).isoformat()),
        ):  # fmt: skip
            result = cli(*args, "--db", db_url)
            assert result.code == 0, result.err
        engine = make_engine(DatabaseSettings(url=db_url))
        running = Cluster(db_url, redis_url, prefix, workdir, engine)
        try:
            yield running
        finally:
            running.stop_all()
            engine.dispose()
