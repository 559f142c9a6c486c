"""The detection processes: face models loaded once per process, one OpenCV thread each.

The one place where work leaves the event loop for another process (see CONVENTIONS: one
chokepoint for sync→async hops).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor

from attendance.vision.detectors import DEFAULT_MODEL
from workers.analysis import Counted, CountJob, count_frame

DETECTION_NICENESS = 10


def _start_process(model: str) -> None:
    import cv2

    from attendance.vision.detectors import load_models

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    cv2.setNumThreads(1)  # parallelism comes from the processes
    # Counting is the elastic work: grabbing and screening every frame on time comes first.
    os.nice(DETECTION_NICENESS)
    load_models(model)


class DetectionPool:
    def __init__(self, processes: int = 0, model: str = DEFAULT_MODEL):
        self.size = processes or os.cpu_count() or 1
        self._executor = ProcessPoolExecutor(
            self.size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_process,
            initargs=(model,),
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
