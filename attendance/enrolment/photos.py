"""Finding portrait photos in a folder: `DIR/OWNER.jpg`, or `DIR/OWNER/*.jpg` for several per
owner (a person code for enrollment, a name for ad-hoc identification)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from attendance.errors import BadInput

SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Photo:
    owner: str
    path: Path
    name: str  # relative to the folder searched: how reports name it


def find_photos(directory: Path) -> tuple[list[Photo], list[Path]]:
    """Photos by owner and path, and the other files found (named in reports, never silently
    dropped). Hidden files are skipped. BadInput when the folder is missing or has no photo."""
    if not directory.is_dir():
        raise BadInput(f"{directory}: no such directory")
    photos, others = [], []
    for entry in _visible(directory):
        files = _visible(entry) if entry.is_dir() else [entry]
        for path in files:
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                owner = entry.name if entry.is_dir() else entry.stem
                name = path.relative_to(directory).as_posix()
                photos.append(Photo(unicodedata.normalize("NFC", owner), path, name))
            else:
                others.append(path)
    if not photos:
        raise BadInput(f"{directory}: no photos ({', '.join(SUFFIXES)}) found")
    return photos, others


def _visible(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if not path.name.startswith("."))
