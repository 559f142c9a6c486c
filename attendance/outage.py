"""Logging a dependency's outage once, not once per retry: a warning when it goes away, a line
when it is back, and the backoff between attempts."""

from __future__ import annotations

import logging
from dataclasses import dataclass


@dataclass
class Outage:
    log: logging.Logger
    what: str  # e.g. "heartbeat: Redis"
    max_delay: float = 2.0
    delay: float = 0.0

    def failed(self, exc: BaseException) -> float:
        """The pause before the next attempt: 0.1 s, doubling up to `max_delay`."""
        if not self.delay:
            self.log.warning("%s unreachable (%s); retrying", self.what, exc)
        self.delay = min(self.max_delay, self.delay * 2 or 0.1)
        return self.delay

    def over(self) -> None:
        if self.delay:
            self.log.info("%s is back", self.what)
            self.delay = 0.0
