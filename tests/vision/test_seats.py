"""SeatMemory: a face missed over an unchanged body still counts for a few counts; a changed body
with no face found is a departure; a remembered seat never doubles a found face."""

from __future__ import annotations

import pickle

import numpy as np

from attendance.vision.seats import Picture, SeatMemory

READER = (100, 140, 140, 100)  # top, right, bottom, left, in frame pixels
NEIGHBOUR = (100, 240, 140, 200)
SCALE = 0.25  # the gate's thumbnail: 320 px wide for a 1280 px frame
STILL = Picture(np.random.default_rng(0).integers(40, 200, (180, 320), dtype=np.uint8), SCALE)


def _changed(picture: Picture, box, shift: int = 60) -> Picture:
    """`picture` with everything in frame box `box` (and its surroundings) brightened."""
    top, right, bottom, left = (round(v * SCALE) for v in box)
    thumb = picture.thumb.copy()
    area = thumb[top - 10 : bottom + 20, left - 10 : right + 10].astype(np.int16) + shift
    thumb[top - 10 : bottom + 20, left - 10 : right + 10] = np.clip(area, 0, 255)
    return Picture(thumb, SCALE)


def _bowed(picture: Picture, box) -> Picture:
    """Only the face's own area changes: a head bowed over a page."""
    top, right, bottom, left = (round(v * SCALE) for v in box)
    thumb = picture.thumb.copy()
    thumb[top:bottom, left:right] = 255 - thumb[top:bottom, left:right]
    return Picture(thumb, SCALE)


def test_a_face_missed_over_an_unchanged_body_is_remembered():
    """Pinned: found, then not found, the face's area changed but not the body under it →
    still counts (a bowed head)."""
    seats = SeatMemory(keep_counts=3)
    assert seats.update([READER, NEIGHBOUR], STILL, 0.0) == []
    assert seats.update([NEIGHBOUR], _bowed(STILL, READER), 30.0) == [READER]


def test_a_changed_body_with_no_face_found_is_a_departure():
    """Pinned: the body under the seat's face changed and nobody was found there → dropped at
    once, for good; the neighbour, whose body did not change, is not."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER, NEIGHBOUR], STILL, 0.0)
    assert seats.update([], _changed(STILL, READER), 30.0) == [NEIGHBOUR]
    assert seats.update([], STILL, 60.0) == [NEIGHBOUR]  # the reader is not back from memory


def test_a_seat_at_the_frame_edge_is_not_remembered():
    """Pinned: with no body in the picture to compare (the face at the bottom edge), a missed
    face is not remembered: unknown is not unchanged."""
    seats = SeatMemory(keep_counts=3)
    edge = (690, 140, 720, 100)
    seats.update([edge], STILL, 0.0)
    assert seats.update([], STILL, 30.0) == []


def test_a_face_found_again_moves_the_seat():
    """Pinned: a face found near the seat refreshes it, at the face's new place and body."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER], STILL, 0.0)
    moved = (104, 144, 144, 104)
    assert seats.update([moved], _changed(STILL, READER, 20), 30.0) == []
    assert seats.update([], _changed(STILL, READER, 20), 60.0) == [moved]


def test_a_remembered_seat_never_doubles_a_found_face():
    """Pinned: a face found near a seat (IoU ≥ 0.3 or centre inside) is that seat's person."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER], STILL, 0.0)
    shifted = (110, 150, 150, 110)  # IoU 0.39 with READER
    assert seats.update([shifted], STILL, 30.0) == []
    large = (90, 170, 170, 90)  # READER's centre inside; IoU 0.25
    assert seats.update([large], STILL, 60.0) == []
    assert [seat.box for seat in seats.seats] == [large]


def test_memory_forgets_after_keep_counts_misses():
    """Pinned: a seat missed in more than `keep_counts` counts in a row no longer counts."""
    seats = SeatMemory(keep_counts=2)
    seats.update([READER], STILL, 0.0)
    assert seats.update([], STILL, 30.0) == [READER]
    assert seats.update([], STILL, 60.0) == [READER]
    assert seats.update([], STILL, 90.0) == []
    assert seats.seats == []


def test_keep_s_keeps_a_seat_beyond_keep_counts_for_a_while():
    """Pinned: with `keep_s`, frequent counts do not end a seat sooner than that many seconds."""
    seats = SeatMemory(keep_counts=1, keep_s=20.0)
    seats.update([READER], STILL, 0.0)
    assert seats.update([], STILL, 5.0) == [READER]
    assert seats.update([], STILL, 10.0) == [READER]  # second miss, within 20 s
    assert seats.update([], STILL, 25.0) == []


def test_keep_counts_zero_counts_only_faces_found():
    """Pinned: the knob at 0 turns the memory off."""
    seats = SeatMemory(keep_counts=0)
    seats.update([READER], STILL, 0.0)
    assert seats.update([], STILL, 30.0) == []


def test_the_memory_is_small_and_pickles():
    """Pinned: it lives in the sampler's per-site state: a pickle round trip keeps the seats,
    a seat's body a few dozen bytes."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER, NEIGHBOUR], STILL, 0.0)
    again = pickle.loads(pickle.dumps(seats))
    assert again.update([NEIGHBOUR], STILL, 30.0) == [READER]
    assert len(pickle.dumps(seats)) < 2000
