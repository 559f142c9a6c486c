"""Reconnect delays for sources that hold a connection: exponential, capped, jittered."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """1, 2, 4 … `maximum` seconds, each drawn from [delay/2, delay] so that hundreds of cameras
    behind one failed switch do not all reconnect in the same second."""

    initial: float = 1.0
    maximum: float = 60.0
    attempts: int = field(default=0, init=False)

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2**self.attempts)
        self.attempts += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempts = 0
