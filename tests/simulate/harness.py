"""A real simulator on 127.0.0.1 (ephemeral port) with a hand-set session clock, small frames."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import cv2
import numpy as np
from aiohttp.test_utils import TestServer

from attendance.examples.generate import example_sites
from attendance.simulate.cameras import CameraSettings
from attendance.simulate.server import SIMULATOR, Simulator, SimulatorConfig, init_app

SMALL = CameraSettings(320, 180, mcu_width=320, mcu_height=180)
CODES = tuple(site["site_code"] for site in example_sites(20))
SEED = 7


class Clock:
    """Session seconds, set by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    server: TestServer
    http: aiohttp.ClientSession
    clock: Clock

    @property
    def sim(self) -> Simulator:
        return self.server.app[SIMULATOR]

    async def snapshot(self, code: str) -> tuple[bytes, int]:
        async with self.http.get(f"/cameras/{code}/snapshot.jpg") as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "image/jpeg"
            return await response.read(), int(response.headers["X-Simulator-State"])

    async def json(self, path: str) -> Any:
        async with self.http.get(path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def set_fault(self, code: str, kind: str | None) -> None:
        async with self.http.post(f"/faults/{code}", json={"kind": kind}) as response:
            assert response.status == 200, await response.text()


@contextlib.asynccontextmanager
async def running(**config: Any) -> AsyncIterator[Harness]:
    clock = Clock()
    settings = {"codes": CODES, "seed": SEED, "camera": SMALL, "render_workers": 0,
                "clock": clock, "mjpeg_interval": 0.05} | config  # fmt: skip
    server = TestServer(init_app(SimulatorConfig(**settings)))
    async with server, aiohttp.ClientSession(base_url=server.make_url("")) as http:
        yield Harness(server, http, clock)


def run(coroutine: Coroutine) -> Any:
    """pytest-asyncio is not a dependency: each test runs its own event loop."""
    return asyncio.run(coroutine)


def decode(jpeg: bytes) -> np.ndarray | None:
    """BGR pixels, or None when the bytes are no image."""
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def smooth(frame: np.ndarray) -> np.ndarray:
    """Blurred enough that JPEG and sensor noise fade; a person arriving or leaving does not."""
    return cv2.GaussianBlur(frame.astype(np.float32), (0, 0), 2)


async def read_parts(response: aiohttp.ClientResponse, count: int) -> list[tuple[dict, bytes]]:
    """The first `count` parts of a multipart/x-mixed-replace stream, checking the framing."""
    assert response.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
    parts = []
    while len(parts) < count:
        line = await response.content.readline()
        if line == b"\r\n":
            continue
        assert line == b"--frame\r\n", line[:40]
        headers = {}
        while (line := await response.content.readline()) != b"\r\n":
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        body = await response.content.readexactly(int(headers["content-length"]))
        assert await response.content.readexactly(2) == b"\r\n"
        parts.append((headers, body))
    return parts


@contextlib.contextmanager
def simulator_process(*args: str) -> Iterator[subprocess.Popen]:
    """`attendance ARGS…` (a simulator) with text pipes; Ctrl-C'd and reaped on leaving. After
    the block, `process.stderr_text` holds what it wrote on stderr."""
    with subprocess.Popen(
        [sys.executable, "-m", "attendance", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as server:
        try:
            yield server
        finally:
            server.send_signal(signal.SIGINT)
            _, server.stderr_text = server.communicate(timeout=10)
