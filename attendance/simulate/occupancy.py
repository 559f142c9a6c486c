"""Who is in a site's hall at any moment of a session: pure, deterministic from (seed, code, t).

Each site has a number of people its camera sees (its `capacity` here: 20–80 by default, not the
hall's registered capacity). Most are seated before the session starts, the rest arrive over the
first minutes, a few come late and a few leave early; some never come. A varying share of those
present look down (present, but no face to see). Opt-in `reading` replaces that share by reading
in bouts: each person reads for that share of their own cycle of a few states, at their own
phase, so that at any moment about that share read and who reads changes over time.

Time is split into *states*: a site's occupancy changes only at state boundaries, every few
minutes, and every site has its own period and phase, so that not all sites change at once. A
frame rendered for a state is valid until the state ends: the simulator renders each state once.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

PEOPLE = (20, 80)  # people a site's camera can see, before the cap of the seats in the frame
NO_SHOW = (0.0, 0.12)  # share of them who never come
SEATED_AT_START = (0.35, 0.7)  # share of those who come who are seated when the session starts
ARRIVAL_SPAN = (240.0, 600.0)  # the others arrive within the first 4–10 minutes …
LATE = (0.04, 0.12)  # … except late comers,
LATE_WINDOW = (900.0, 2700.0)  # who arrive 15–45 minutes in
EARLY_LEAVERS = (0.03, 0.1)  # share of those who come who leave
LEAVE_WINDOW = (2400.0, 5400.0)  # 40–90 minutes in
PERIOD = 240.0  # mean seconds between two changes of a site's occupancy …
PERIOD_SPREAD = 0.4  # … each site's own period within ±40 % of it
DOWN_MEAN = (0.05, 0.25)  # a site's typical share of present people looking down
DOWN_SWING = 0.08  # how much that share varies from one state to the next (σ)
DOWN_RANGE = (0.0, 0.45)
DOWN_STICKINESS = 0.6  # weight of a state's whim against a person's habit of looking down
BOUT_CYCLE = (3.0, 6.0)  # with `reading`: a person's reading cycle, in (mean) periods


@dataclass(frozen=True)
class SiteProfile:
    """Everything random about one site's session, drawn once from (seed, code).

    Person i is the i-th seated person of the site's hall plan (plan order, screen faces
    excluded); `arrive[i]` and `leave[i]` are seconds since the session start (inf: never).
    """

    code: str
    key: int  # 32-bit number derived from (seed, code): seeds the hall and the states
    capacity: int  # people the camera can see when all who were expected are there
    screen: bool  # a projection screen showing faces hangs in view
    period: float  # seconds between occupancy changes
    offset: float  # phase in [0, period): the first change comes at period - offset
    arrive: np.ndarray  # float64[capacity]
    leave: np.ndarray  # float64[capacity]
    habit: np.ndarray  # float64[capacity]: a person's tendency to look down (higher: more)
    down_mean: float
    reading: float | None = None  # share of each person's cycle spent reading (None: habit)
    cycle: np.ndarray | None = None  # float64[capacity]: with `reading`, seconds per cycle
    phase: np.ndarray | None = None  # float64[capacity]: with `reading`, in [0, 1)


@dataclass(frozen=True)
class Occupancy:
    """One state of a site: who is present and who of them looks down."""

    code: str
    state: int
    start: float  # session seconds when this state began (0 for the first)
    end: float  # session seconds when the next state begins
    present: tuple[int, ...]  # person indices, ascending
    down: tuple[int, ...]  # subset of present, ascending

    @property
    def key(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """What a frame shows: two states with the same key look the same."""
        return self.present, self.down

    def counts(self) -> dict[str, int]:
        return {
            "present": len(self.present),
            "visible_faces": len(self.present) - len(self.down),
            "looking_down": len(self.down),
        }


def site_key(seed: int, code: str) -> int:
    """A stable 32-bit number for (seed, code); Python's hash() differs between processes."""
    return zlib.crc32(f"{seed}:{code}".encode())


def profile(
    seed: int,
    code: str,
    max_people: int | None = None,
    period: float = PERIOD,
    reading: float | None = None,
) -> SiteProfile:
    """The site's session; `max_people` caps the capacity (the seats the frame can show).

    `period` is the mean time between changes; it sets how often frames must be redrawn (and
    recounted), so a benchmark of many sites may want it longer. With `reading` (0..1) the
    people looking down are those in a reading bout: person i reads while
    `(t / cycle[i] + phase[i]) mod 1 < reading` at a state's start, with a cycle of 3–6 mean
    periods (bouts of one to two states at a third). Everything else is as without it.
    """
    if reading is not None and not 0 <= reading <= 1:
        raise ValueError(f"reading must be a share in 0..1, not {reading}")
    key = site_key(seed, code)
    rng = np.random.default_rng([key, 0])
    capacity = int(rng.integers(PEOPLE[0], PEOPLE[1] + 1))
    if max_people is not None:
        capacity = max(0, min(capacity, max_people))
    screen = bool(rng.random() < 0.2)
    period = float(period * rng.uniform(1 - PERIOD_SPREAD, 1 + PERIOD_SPREAD))
    offset = float(rng.uniform(0, period))
    arrive = _arrivals(rng, capacity)
    leave = np.full(capacity, math.inf)
    leavers = rng.random(capacity) < rng.uniform(*EARLY_LEAVERS)
    leave[leavers] = rng.uniform(*LEAVE_WINDOW, size=int(leavers.sum()))
    habit = rng.standard_normal(capacity)
    down_mean = float(rng.uniform(*DOWN_MEAN))
    site = SiteProfile(code, key, capacity, screen, period, offset, arrive, leave, habit, down_mean)
    if reading is None:
        return site
    bouts = np.random.default_rng([key, 2])  # its own stream: the rest is drawn as without
    cycle = bouts.uniform(*BOUT_CYCLE, size=capacity) * period
    return replace(site, reading=float(reading), cycle=cycle, phase=bouts.random(capacity))


def _arrivals(rng: np.random.Generator, capacity: int) -> np.ndarray:
    arrive = rng.uniform(0, rng.uniform(*ARRIVAL_SPAN), size=capacity)
    kind = rng.random(capacity)
    no_show, seated = rng.uniform(*NO_SHOW), rng.uniform(*SEATED_AT_START)
    late = rng.uniform(*LATE)
    arrive[kind < seated] = 0.0
    late_comers = (kind >= 1 - no_show - late) & (kind < 1 - no_show)
    arrive[late_comers] = rng.uniform(*LATE_WINDOW, size=int(late_comers.sum()))
    arrive[kind >= 1 - no_show] = math.inf
    return arrive


def state_at(site: SiteProfile, seconds: float) -> int:
    """The state a site is in `seconds` after the session start (state 0 before it)."""
    state = max(0, math.floor((seconds + site.offset) / site.period))
    if seconds >= state_bounds(site, state + 1)[0]:  # floating-point rounding at a boundary
        state += 1
    elif state and seconds < state_bounds(site, state)[0]:
        state -= 1
    return state


def state_bounds(site: SiteProfile, state: int) -> tuple[float, float]:
    return max(0.0, state * site.period - site.offset), (state + 1) * site.period - site.offset


def occupancy(site: SiteProfile, state: int) -> Occupancy:
    """Who is present in `state` (as at its start) and who of them looks down."""
    start, end = state_bounds(site, state)
    here = np.flatnonzero((site.arrive <= start) & (start < site.leave))
    if site.reading is not None:
        turn = (start / site.cycle[here] + site.phase[here]) % 1.0
        down = here[turn < site.reading]
        present = tuple(int(i) for i in here)
        return Occupancy(site.code, state, start, end, present, tuple(int(i) for i in down))
    rng = np.random.default_rng([site.key, 1, state])
    share = float(np.clip(site.down_mean + DOWN_SWING * rng.standard_normal(), *DOWN_RANGE))
    whim = rng.standard_normal(site.capacity)
    score = site.habit[here] + DOWN_STICKINESS * whim[here]
    down = here[np.argsort(-score, kind="stable")[: round(share * len(here))]]
    present = tuple(int(i) for i in here)
    return Occupancy(site.code, state, start, end, present, tuple(sorted(int(i) for i in down)))


def occupancy_at(site: SiteProfile, seconds: float) -> Occupancy:
    return occupancy(site, state_at(site, seconds))
