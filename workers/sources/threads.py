"""The one hop from the event loop to blocking OpenCV work (decode, crop, file reads).

A private pool, not the loop's default executor: aiohttp resolves host names in the default
executor, and a burst of composite decodes must not make every DNS look-up wait behind it.
Live streams do not use this pool: each owns a thread for as long as it is open (capture.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="source")


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` in the source pool. Cancelling the caller does not stop a call already running."""
    return await asyncio.get_running_loop().run_in_executor(_pool, partial(fn, *args, **kwargs))
