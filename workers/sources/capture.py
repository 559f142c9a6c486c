"""OpenCV/FFmpeg sources: live streams (RTSP, HLS) and video files played as live cameras."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from workers.sources.backoff import Backoff
from workers.sources.base import Frame, GrabFailure, SourceError
from workers.sources.threads import run_blocking

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0  # for files whose container does not say (or says nonsense)
SEEK_INSTEAD_OF_READING = 50  # frames: reading forward further than this costs more than a seek


def open_capture(target: str, open_timeout: float, read_timeout: float) -> cv2.VideoCapture:
    """A VideoCapture through FFmpeg, with timeouts, decoding on one thread.

    One decoding thread per stream: with hundreds of streams the cores are shared anyway, and
    FFmpeg's default (a thread per core for each stream) multiplies threads for nothing.
    """
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(open_timeout * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(read_timeout * 1000),
        cv2.CAP_PROP_N_THREADS,
        1,
    ]
    return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)


def to_rgb(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(eq=False)
class _Request:
    """A grab waiting for the reader thread's next frame."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Frame]
    deadline: float  # time.monotonic()

    def settle(self, outcome: Frame | SourceError) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self.loop.call_soon_threadsafe(_settle, self.future, outcome)


def _settle(future: asyncio.Future[Frame], outcome: Frame | SourceError) -> None:
    if future.done():
        return
    if isinstance(outcome, SourceError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class LiveCapture:
    """A live stream (rtsp://, rtsps://, HLS …m3u8) read continuously by its own thread.

    The thread opens the stream, then calls `VideoCapture.grab()` in a loop: that drains
    FFmpeg's buffer and decodes every frame, so the capture is always at the live edge.

    RTSP delivers frames evenly: pixels are converted (`retrieve()`) only when a grab is
    waiting, and the grab gets the next frame to arrive, at most one frame interval away.
    HLS delivers a segment (2–10 s of frames) at once, then nothing until the next one, so
    with `keep_latest` every frame is retrieved and a grab returns the newest one at once
    (HLS itself is a few segments behind real time).

    On failure the thread reopens the stream after an exponential backoff (1, 2, 4 … 60 s,
    jittered); a grab made while it waits fails at once with the last problem if the next
    attempt is due after the grab's timeout, and no frame from before the failure is returned.

    Cost: one thread and a full decode of every frame (~1.7 ms for 826×540 H.264) for as long
    as the source is open, whether or not anyone grabs.
    """

    def __init__(
        self,
        url: str,
        *,
        kind: str,
        masked_url: str,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
        read_timeout: float = 10.0,
        keep_latest: bool = False,
    ):
        self._url, self._kind, self._masked = url, kind, masked_url
        self._keep_latest = keep_latest
        self._backoff = backoff or Backoff()
        self._open_timeout, self._read_timeout = open_timeout, read_timeout
        self._lock = threading.Lock()  # guards the fields below, shared with the thread
        self._requests: list[_Request] = []
        self._problem: SourceError | None = None
        self._retry_at: float | None = None  # time.monotonic() of the next reopen, while down
        self._latest: Frame | None = None  # with keep_latest: the newest frame, while up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def grab(self, timeout: float) -> Frame:
        loop = asyncio.get_running_loop()
        request = _Request(loop, loop.create_future(), time.monotonic() + timeout)
        with self._lock:
            if self._stop.is_set():
                raise SourceError(GrabFailure.ERROR, "source is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"capture {self._masked}", daemon=True
                )
                self._thread.start()
            if self._down_past(request.deadline):
                raise self._down()
            if self._latest is not None:
                return self._latest
            self._requests.append(request)
        try:
            return await asyncio.wait_for(request.future, timeout)
        except TimeoutError:
            with self._lock:
                if request in self._requests:
                    self._requests.remove(request)
                if self._problem is not None:
                    raise self._down() from None
            raise SourceError(
                GrabFailure.TIMEOUT, f"no {self._kind} frame within {timeout:g} s"
            ) from None

    async def close(self, wait: float = 2.0) -> None:
        """Stop the thread; wait up to `wait` s for it (a thread stuck in an FFmpeg call exits
        on its own within the open/read timeouts, then releases the capture)."""
        self._stop.set()
        self._fail_waiting(SourceError(GrabFailure.ERROR, "source is closed"), math.inf)
        end = time.monotonic() + wait
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < end:
            await asyncio.sleep(0.02)

    def _down_past(self, deadline: float) -> bool:
        return self._problem is not None and (self._retry_at or 0) > deadline

    def _down(self) -> SourceError:
        assert self._problem is not None
        message = str(self._problem)
        if self._retry_at is not None:
            message += f"; reopening in {max(0.0, self._retry_at - time.monotonic()):.0f} s"
        return SourceError(self._problem.failure, message)

    def _fail_waiting(self, problem: SourceError, before: float) -> None:
        """Fail the waiting grabs whose deadline comes before `before` (monotonic)."""
        with self._lock:
            failing = [r for r in self._requests if r.deadline < before]
            self._requests = [r for r in self._requests if r.deadline >= before]
        for request in failing:
            request.settle(problem)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                problem = self._session()
            except Exception as exc:  # a bug must not end the thread: log, back off, retry
                log.exception("%s: capture thread failed", self._masked)
                problem = SourceError(GrabFailure.ERROR, f"internal error: {exc!r}")
            if self._stop.is_set():
                break
            delay = self._backoff.next_delay()
            with self._lock:
                self._problem, self._retry_at = problem, time.monotonic() + delay
                self._latest = None
            self._fail_waiting(self._down(), self._retry_at)
            level = logging.WARNING if self._backoff.attempts == 1 else logging.DEBUG
            log.log(level, "%s: %s; reopening in %.1f s", self._masked, problem, delay)
            self._stop.wait(delay)

    def _session(self) -> SourceError:
        """Open the stream and read it until it fails; return why it stopped."""
        capture = open_capture(self._url, self._open_timeout, self._read_timeout)
        try:
            if not capture.isOpened():
                return SourceError(
                    GrabFailure.ERROR,
                    "cannot open the stream (unreachable, refused, wrong path or credentials, "
                    "or not a video; FFmpeg gives no reason)",
                )
            with self._lock:
                self._retry_at = None
            while not self._stop.is_set():
                if not capture.grab():
                    return SourceError(
                        GrabFailure.ERROR,
                        f"the stream stopped (no frame within {self._read_timeout:g} s, "
                        "or it ended)",
                    )
                if self._backoff.attempts:
                    log.info("%s: stream delivering frames", self._masked)
                    self._backoff.reset()
                latest = self._frame(capture) if self._keep_latest else None
                with self._lock:
                    self._problem = None
                    if isinstance(latest, Frame):
                        self._latest = latest
                    waiting, self._requests = self._requests, []
                if waiting:
                    outcome = latest or self._frame(capture)
                    for request in waiting:
                        request.settle(outcome)
            return SourceError(GrabFailure.ERROR, "source is closed")
        finally:
            capture.release()

    def _frame(self, capture: cv2.VideoCapture) -> Frame | SourceError:
        ok, bgr = capture.retrieve()
        if not ok or bgr is None:
            return SourceError(GrabFailure.DECODE_ERROR, "the stream's frame could not be decoded")
        return Frame(
            captured_at=datetime.now(UTC),
            image=to_rgb(bgr),
            meta={"kind": self._kind, "url": self._masked, "size": bgr.shape[1::-1]},
        )


class FileCapture:
    """A video file played as a live camera, for demos, tests and replays of recorded sites.

    The file "plays" at its own frame rate from the moment the source was created, looping at
    the end: a grab at elapsed time t returns frame int(t × fps) mod frame count, so samplers see
    the same thing as with a live camera (time passes between grabs, frames are skipped) and a
    replay is reproducible. Consecutive grabs read forward; big jumps seek. A still image file
    (JPEG, PNG) opens as a one-frame video and is returned on every grab.
    """

    kind = "file"

    def __init__(self, path: Path, *, masked_url: str, clock: Callable[[], float] = time.monotonic):
        self._path, self._masked, self._clock = path, masked_url, clock
        self._started = clock()
        self._lock = threading.Lock()  # one thread at a time on the capture
        self._capture: cv2.VideoCapture | None = None
        self._fps = DEFAULT_FPS
        self._count = 0  # frames in the file; 0 until known
        self._next = 0  # index of the frame the capture reads next
        self._last: tuple[int, np.ndarray] | None = None
        self._closed = False

    async def grab(self, timeout: float) -> Frame:
        elapsed = self._clock() - self._started
        try:
            return await asyncio.wait_for(run_blocking(self._frame_at, elapsed), timeout)
        except TimeoutError:
            raise SourceError(
                GrabFailure.TIMEOUT, f"{self._path}: no frame read within {timeout:g} s"
            ) from None

    async def close(self) -> None:
        self._closed = True
        await run_blocking(self._release)

    def _release(self) -> None:
        with self._lock:
            if self._capture is not None:
                self._capture.release()
                self._capture = None

    def _frame_at(self, elapsed: float) -> Frame:
        with self._lock:
            if self._closed:
                raise SourceError(GrabFailure.ERROR, "source is closed")
            if self._capture is None:
                self._capture = self._open()
            index = int(elapsed * self._fps)
            if self._count:
                index %= self._count
            index, image = self._read(index)
        return Frame(
            captured_at=datetime.now(UTC),
            image=image.copy(),
            meta={"kind": self.kind, "url": self._masked, "frame": index, "fps": self._fps},
        )

    def _open(self) -> cv2.VideoCapture:
        if not self._path.is_file():
            reason = "is a directory" if self._path.is_dir() else "not found"
            raise SourceError(GrabFailure.ERROR, f"video file {reason}: {self._path}")
        capture = open_capture(str(self._path), 10.0, 10.0)
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                GrabFailure.DECODE_ERROR, f"{self._path}: not a video or image OpenCV can read"
            )
        fps = capture.get(cv2.CAP_PROP_FPS)
        self._fps = fps if math.isfinite(fps) and 0 < fps <= 240 else DEFAULT_FPS
        self._count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        return capture

    def _read(self, index: int) -> tuple[int, np.ndarray]:
        """Frame `index`; if the file turns out shorter than its header says (or the header did
        not say), count its frames once and wrap around the true length."""
        if self._last is not None and self._last[0] == index:
            return self._last
        bgr = self._decode(index)
        if bgr is None and index > 0:
            self._count = self._count_frames()
            index %= max(1, self._count)
            bgr = self._decode(index)
        if bgr is None:
            raise SourceError(GrabFailure.DECODE_ERROR, f"{self._path}: no frame can be decoded")
        self._last = (index, to_rgb(bgr))
        return self._last

    def _count_frames(self) -> int:
        capture = self._capture
        assert capture is not None
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        count = 0
        while capture.grab():
            count += 1
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._next = 0
        return count

    def _decode(self, index: int) -> np.ndarray | None:
        capture = self._capture
        assert capture is not None
        if not self._next <= index <= self._next + SEEK_INSTEAD_OF_READING:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._next = index
        while self._next < index:
            if not capture.grab():
                return None
            self._next += 1
        ok, bgr = capture.read()
        if not ok:
            return None
        self._next = index + 1
        return bgr
