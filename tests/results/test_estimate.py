"""The attendance figure of one site for one session, from its per-slot samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attendance.config import EstimateSettings
from attendance.results.estimate import Window, estimate
from attendance.store.samples import SampleFigure

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(hours=2), 60)  # 120 slots; core: 01:12–02:48
SETTINGS = EstimateSettings()


def _samples(counts, status="ok", first_id=1):
    return [
        SampleFigure(
            first_id + i, START + timedelta(minutes=i), status if c is not None else "timeout", c
        )
        for i, c in enumerate(counts)
    ]


def test_a_moment_of_people_looking_down_and_one_noisy_frame_do_not_move_the_figure():
    counts = [5] * 10 + [40] * 110  # arrivals in the first minutes are outside the core
    counts[50] = 80  # a detector glitch
    counts[60:64] = [22, 20, 25, 21]  # heads down over papers
    found = estimate(_samples(counts), WINDOW, SETTINGS)
    assert found.raw == 40 and found.peak == 80 and found.median == 40
    assert found.quality == "good" and found.reasons == [] and found.coverage == 1.0
    assert len(found.evidence) == 3 and all(counts[i - 1] == 40 for i in found.evidence)


def test_feed_gaps_lower_coverage_and_are_named():
    counts = [30 if i % 3 == 0 else None for i in range(120)]
    found = estimate(_samples(counts), WINDOW, SETTINGS)
    assert found.raw == 30 and 0.3 < found.coverage < 0.4
    assert found.quality == "fair"
    assert any("low coverage" in r for r in found.reasons)
    assert any("feed problems" in r for r in found.reasons)


def test_no_usable_sample_is_no_data_never_zero():
    found = estimate(_samples([None] * 120), WINDOW, SETTINGS)
    assert found.raw is None and found.quality == "no_data" and found.calibrated(1.5) is None
    assert estimate([], WINDOW, SETTINGS).quality == "no_data"


def test_time_weighted_mean_weights_counts_by_how_long_they_held():
    samples = [
        SampleFigure(1, START + timedelta(minutes=20), "ok", 10),
        SampleFigure(2, START + timedelta(minutes=21), "ok", 10),
        SampleFigure(3, START + timedelta(minutes=22), "ok", 40),
    ]
    # the last count holds one slot; nothing else counted in the core: coverage is low
    found = estimate(samples, WINDOW, SETTINGS)
    assert found.mean == 20.0 and found.quality == "poor"


def test_a_running_session_is_judged_on_the_slots_due_so_far():
    counts = [40] * 30
    until = START + timedelta(minutes=30)
    found = estimate(_samples(counts), WINDOW, SETTINGS, until=until)
    assert found.coverage == 1.0 and found.raw == 40


def test_disagreeing_samples_are_flagged():
    counts = [10, 40] * 60
    found = estimate(_samples(counts), WINDOW, EstimateSettings(smooth_slots=1))
    assert any("disagree" in r for r in found.reasons)
    assert found.calibrated(1.25) == 50.0


def test_a_session_in_its_first_minutes_shows_what_it_has_so_far():
    counts = [12] * 5
    found = estimate(_samples(counts), WINDOW, SETTINGS, until=START + timedelta(minutes=5))
    assert found.raw == 12 and found.coverage == 1.0 and found.quality == "fair"
    assert found.reasons == ["the session has just begun: figure from its first minutes"]


def test_remembered_share_is_the_memory_in_the_counts_behind_the_figure():
    """Pinned: the mean remembered/face_count over the figure's evidence samples; None when no
    sample recorded it (samples stored before seat memory)."""
    slots = [START + timedelta(minutes=i) for i in range(120)]
    samples = [SampleFigure(i + 1, slot, "ok", 40, remembered=4) for i, slot in enumerate(slots)]
    found = estimate(samples, WINDOW, SETTINGS)
    assert found.raw == 40 and found.remembered_share == 0.1
    old = estimate(_samples([40] * 120), WINDOW, SETTINGS)
    assert old.raw == 40 and old.remembered_share is None
