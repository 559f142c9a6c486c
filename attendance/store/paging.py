"""Lists read a page at a time: the page asked for, the select cut to it, the total it is cut
from, and the rows as dicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int

    def of(self, items: Sequence[Any]) -> list[Any]:
        return list(items[self.offset : self.offset + self.limit])


def paged(query: Select, page: Page) -> Select:
    return query.limit(page.limit).offset(page.offset)


def total(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def dicts(session: Session, query: Select) -> list[dict[str, Any]]:
    return [dict(row) for row in session.execute(query).mappings()]
