"""SeatMemory: a face missed at an unchanged seat still counts for a few counts; a change there
with no face found is a departure; a remembered seat never doubles a found face."""

from __future__ import annotations

import pickle

from attendance.vision.seats import SeatMemory, merge_changes

READER = (100, 140, 140, 100)  # top, right, bottom, left
NEIGHBOUR = (100, 240, 140, 200)
AROUND_READER = (80, 160, 160, 80)


def test_a_face_missed_at_an_unchanged_seat_is_remembered():
    """Pinned: found, then not found with no change there → still counts (a bowed head)."""
    seats = SeatMemory(keep_counts=3)
    assert seats.update([READER, NEIGHBOUR], [], 0.0) == []
    assert seats.update([NEIGHBOUR], [], 30.0) == [READER]


def test_a_change_at_the_seat_with_no_face_found_is_a_departure():
    """Pinned: the seat's area changed and nobody was found there → dropped at once, for good."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER, NEIGHBOUR], [], 0.0)
    assert seats.update([NEIGHBOUR], [AROUND_READER], 30.0) == []
    assert seats.update([NEIGHBOUR], [], 60.0) == []  # not back from memory later


def test_a_change_where_the_face_is_found_again_keeps_the_seat():
    """Pinned: a change at a seat whose face is found is someone moving, not leaving."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER], [], 0.0)
    moved = (104, 144, 144, 104)
    assert seats.update([moved], [AROUND_READER], 30.0) == []
    assert seats.update([], [], 60.0) == [moved]  # the seat follows the face as last found


def test_a_remembered_seat_never_doubles_a_found_face():
    """Pinned: a face found near a seat (IoU ≥ 0.3 or centre inside) is that seat's person."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER], [], 0.0)
    shifted = (110, 150, 150, 110)  # IoU 0.39 with READER
    assert seats.update([shifted], [], 30.0) == []
    large = (90, 170, 170, 90)  # READER's centre inside; IoU 0.25
    assert seats.update([large], [], 60.0) == []
    assert [seat.box for seat in seats.seats] == [large]


def test_memory_forgets_after_keep_counts_misses():
    """Pinned: a seat missed in more than `keep_counts` counts in a row no longer counts."""
    seats = SeatMemory(keep_counts=2)
    seats.update([READER], [], 0.0)
    assert seats.update([], [], 30.0) == [READER]
    assert seats.update([], [], 60.0) == [READER]
    assert seats.update([], [], 90.0) == []
    assert seats.seats == []


def test_keep_s_keeps_a_seat_beyond_keep_counts_for_a_while():
    """Pinned: with `keep_s`, frequent counts do not end a seat sooner than that many seconds."""
    seats = SeatMemory(keep_counts=1, keep_s=20.0)
    seats.update([READER], [], 0.0)
    assert seats.update([], [], 5.0) == [READER]
    assert seats.update([], [], 10.0) == [READER]  # second miss, within 20 s
    assert seats.update([], [], 25.0) == []


def test_keep_counts_zero_counts_only_faces_found():
    """Pinned: the knob at 0 turns the memory off."""
    seats = SeatMemory(keep_counts=0)
    seats.update([READER], [], 0.0)
    assert seats.update([], [], 30.0) == []


def test_the_memory_is_small_and_pickles():
    """Pinned: it lives in the sampler's per-site state: a pickle round trip keeps the seats."""
    seats = SeatMemory(keep_counts=3)
    seats.update([READER, NEIGHBOUR], [], 0.0)
    again = pickle.loads(pickle.dumps(seats))
    assert again.update([NEIGHBOUR], [], 30.0) == [READER]
    assert len(pickle.dumps(seats)) < 1000


def test_changes_between_counts_accumulate_and_stay_bounded():
    """Pinned: regions of frames between counts add up; past the limit, their bounding box."""
    changes = merge_changes((), [AROUND_READER])
    changes = merge_changes(changes, [(0, 10, 10, 0)])
    assert changes == (AROUND_READER, (0, 10, 10, 0))
    many = merge_changes(changes, [(300, 310, 310, 300)], limit=2)
    assert many == ((0, 310, 310, 0),)
