"""Slot planning shared by the embedded runtime and the cluster scheduler."""

from __future__ import annotations

import asyncio
import random

from attendance.store.models import Site
from workers.schedule import phase, slot_start
from workers.slots import PlannedSite, SlotHeap, drain, first_slot

CADENCE = 60.0
SITE = PlannedSite(Site(id=1, code="DC01001"), CADENCE)
NOW = 1_800_000_000.0
CURRENT = slot_start(NOW, CADENCE, phase("DC01001", CADENCE))


def test_the_first_slot_is_the_current_one_unless_it_is_stored():
    assert first_slot(SITE, NOW, None) == CURRENT
    assert first_slot(SITE, NOW, CURRENT - 2 * CADENCE) == CURRENT  # a gap is not caught up
    assert first_slot(SITE, NOW, CURRENT) == CURRENT + CADENCE  # a restart within the slot


def test_catching_up_starts_after_the_last_stored_slot():
    """The cluster's rule: a dead scheduler's missed slots are enqueued after all."""
    assert first_slot(SITE, NOW, None, catch_up=True) == CURRENT
    assert first_slot(SITE, NOW, CURRENT - 3 * CADENCE, catch_up=True) == CURRENT - 2 * CADENCE
    assert first_slot(SITE, NOW, CURRENT, catch_up=True) == CURRENT + CADENCE


def test_the_heap_hands_out_due_slots_in_order_each_followed_by_the_next():
    heap = SlotHeap(jitter=0.0)
    heap.add(0, 100.0, 10.0)
    heap.add(1, 103.0, 30.0)
    assert heap.take_due(99.0, ends=1000) == []
    assert heap.take_due(100.0, ends=1000) == [(0, 100.0)]
    assert heap.take_due(125.0, ends=1000) == [(1, 103.0), (0, 110.0), (0, 120.0)]
    assert len(heap) == 2 and heap.next_due == 130.0  # each site keeps its next slot


def test_jitter_delays_a_slot_by_at_most_its_share_of_the_cadence():
    heap = SlotHeap(jitter=0.5, rng=random.Random(3))
    for index in range(50):
        heap.add(index, 100.0, 10.0)
    assert heap.take_due(99.99, ends=1000) == []
    assert 100.0 < heap.next_due < 105.0  # fifty draws: not all at the start
    assert len(heap.take_due(105.0, ends=1000)) == 50


def test_the_heap_stops_at_the_end_and_at_a_batch():
    heap = SlotHeap(jitter=0.0)
    for index in range(5):
        heap.add(index, 100.0 + index, 10.0)
    assert heap.take_due(200.0, ends=1000, most=2) == [(0, 100.0), (1, 101.0)]
    heap = SlotHeap(jitter=0.0)
    heap.add(0, 100.0, 10.0)
    heap.add(1, 205.0, 10.0)  # its first slot is past the end: dropped before it is due
    assert heap.take_due(125.0, ends=120.0) == [(0, 100.0), (0, 110.0)]
    assert len(heap) == 0


def test_drain_interrupts_what_outlasts_the_grace_and_keeps_the_rest():
    async def scenario() -> tuple[bool, bool]:
        quick = asyncio.create_task(asyncio.to_thread(sum, [1, 2]))
        stuck = asyncio.create_task(asyncio.Event().wait())
        await drain([quick, stuck], grace=0.2)
        return quick.cancelled(), stuck.cancelled()

    assert asyncio.run(scenario()) == (False, True)
