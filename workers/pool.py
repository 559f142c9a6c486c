"""The detection processes: face models loaded once per process, one OpenCV thread each.

The one place where work leaves the event loop for another process (see CONVENTIONS: one
chokepoint for sync→async hops). The processes end with their parent: a parent killed with
SIGKILL shuts nothing down, and each would otherwise go on holding its models (~300 MB) under
PID 1.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from attendance.vision.detectors import DEFAULT_MODEL
from workers.analysis import Counted, CountJob, count_frame

DETECTION_NICENESS = 10
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_S = 1.0


def _start_process(model: str, parent: int) -> None:
    import cv2

    from attendance.vision.detectors import load_models

    _exit_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    cv2.setNumThreads(1)  # parallelism comes from the processes
    # Counting is the elastic work: grabbing and screening every frame on time comes first.
    os.nice(DETECTION_NICENESS)
    load_models(model)


def _exit_with(parent: int) -> None:
    """Linux kills this process when its parent dies (PR_SET_PDEATHSIG), even in the middle of a
    detection that holds the GIL; the signal comes when the parent's thread that started this
    process ends, and the pool starts its processes from the event loop's thread, which lasts
    as long as the parent. A thread that checks the parent every PARENT_CHECK_S covers other
    systems and a parent that died before the signal was asked for."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:  # an orphan's parent becomes PID 1 (or a subreaper)
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


class DetectionPool:
    def __init__(self, processes: int = 0, model: str = DEFAULT_MODEL):
        self.size = processes or os.cpu_count() or 1
        self._executor = ProcessPoolExecutor(
            self.size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_process,
            initargs=(model, os.getpid()),
        )
        self.running = 0  # jobs submitted and not finished: the backlog

    async def count(self, job: CountJob) -> Counted:
        loop = asyncio.get_running_loop()
        self.running += 1
        try:
            return await loop.run_in_executor(self._executor, count_frame, job)
        finally:
            self.running -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
