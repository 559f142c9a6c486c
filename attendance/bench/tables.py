"""The benchmarks' tables: one row per method, one right-aligned column per figure."""

from __future__ import annotations

from collections.abc import Callable


def print_table(
    table: dict[str, dict[str, float]],
    headings: dict[str, str],
    report: Callable[[str], None],
    name_width: int = 20,
) -> None:
    """`headings`: figure key → column title, in column order."""
    report(f"{'method':{name_width}}" + "".join(f"{title:>11}" for title in headings.values()))
    for name, figures in table.items():
        report(f"{name:{name_width}}" + "".join(f"{figures[key]:>11}" for key in headings))
