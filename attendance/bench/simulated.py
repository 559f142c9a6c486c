"""The simulated cameras a benchmark runs against, described once: the options that start
`attendance simulate sites`, and the ground truth those options imply, without asking the server.

A benchmark starts the simulator with `SimulatedSites.args(port)` and scores counts with
`SimulatedSites.visible_faces`, so the two cannot disagree on frame size, period, hard halls or
shared halls (`distinct`: site i shows the hall, and so the session, of site i mod N). The counts
are the server's `/truth`: a hard hall's backs (and readers hidden behind a paper) are present
but never visible faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from attendance.examples.generate import example_sites
from attendance.simulate.cameras import CameraSettings, HallFacts, facts, shown_halls, site_profile
from attendance.simulate.occupancy import PERIOD, Occupancy, SiteProfile, occupancy_at


@dataclass(frozen=True)
class SimulatedSites:
    """The first `count` example sites as `attendance simulate sites` serves them."""

    count: int
    seed: int = 2026
    size: tuple[int, int] = (1280, 720)
    period: float = PERIOD  # mean session seconds between a site's changes
    distinct: int | None = None  # halls drawn and shared; None: every site its own
    variants: int = 3  # noise variants per state: memory, not truth
    hard: bool = False  # hard halls (`simulate sites --hard`): backs and hidden readers
    _profiles: dict[str, SiteProfile] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _facts: dict[str, HallFacts] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def args(self, port: int) -> list[str]:
        """`attendance` arguments serving these sites on 127.0.0.1:`port`, every hall drawn
        before the port opens (--warm; the session clock starts when it opens)."""
        width, height = self.size
        options = {
            "--count": self.count,
            "--port": port,
            "--seed": self.seed,
            "--size": f"{width}x{height}",
            "--period": self.period,
            "--variants": self.variants,
            "--distinct": self.distinct,
        }
        given = [(name, str(value)) for name, value in options.items() if value is not None]
        hard = ["--hard"] if self.hard else []
        return ["simulate", "sites", *(arg for pair in given for arg in pair), *hard, "--warm"]

    @property
    def camera(self) -> CameraSettings:
        """The cameras' settings as far as the truth depends on them."""
        return CameraSettings(*self.size, hard=self.hard)

    @cached_property
    def halls(self) -> dict[str, str]:
        """Site code → code of the site whose hall (and session) it shows."""
        codes = [row["site_code"] for row in example_sites(self.count, self.seed)]
        return shown_halls(codes, self.distinct)

    def occupancy(self, code: str, seconds: float) -> Occupancy:
        """Who site `code` showed `seconds` (session time) after the simulator opened its port.

        Raises KeyError for a code the simulator does not serve.
        """
        return occupancy_at(self._profile(code), seconds)

    def counts(self, code: str, seconds: float) -> dict[str, int]:
        """Present, visible faces and looking down, as the server's `/truth` says for `code`
        `seconds` (session time) after it opened its port."""
        hall = self._profile(code).code
        if hall not in self._facts:  # the hall's plan: ~15 ms, once per hall
            self._facts[hall] = facts(self.camera, self._profiles[hall])
        return self._facts[hall].counts(self.occupancy(code, seconds))

    def visible_faces(self, code: str, seconds: float) -> int:
        """The faces to count: what `attendance.bench.workers` calls the truth of a sample."""
        return self.counts(code, seconds)["visible_faces"]

    def _profile(self, code: str) -> SiteProfile:
        """The profile of the hall site `code` shows. Raises KeyError for a code not served."""
        hall = self.halls.get(code)
        if hall is None:
            raise KeyError(f"{code} is not one of the {self.count} simulated sites")
        if hall not in self._profiles:
            self._profiles[hall] = site_profile(self.camera, self.seed, hall, self.period)
        return self._profiles[hall]
