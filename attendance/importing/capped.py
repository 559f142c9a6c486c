"""A list that keeps its first items and counts them all: a file of a million bad rows must be
reported in a page, not in a million lines."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Capped(Generic[T]):
    def __init__(self, keep: int):
        self.keep = keep
        self.items: list[T] = []
        self.total = 0

    def append(self, item: T) -> None:
        self.total += 1
        if len(self.items) < self.keep:
            self.items.append(item)

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def hidden(self) -> int:
        """How many were counted but not kept."""
        return self.total - len(self.items)
