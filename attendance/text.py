"""Text helpers for Vietnamese data from many tools."""

from __future__ import annotations

import re
import unicodedata


def nfc(text: str) -> str:
    """Compose decomposed Vietnamese (as some Mac and web tools write it) so equal names match."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case, drop diacritics and punctuation: 'Mã điểm cầu' and 'MA DIEM CAU' fold alike."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", bare.lower()).strip()


def shorten(text: str, limit: int = 80) -> str:
    """Cut `text` to `limit` characters with an ellipsis, so a 32 KB cell is not echoed whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
