"""Evidence images on disk: the blurred frame behind each counted sample, named by its SHA-256.

A sample records the hash (`Sample.evidence_sha256`) before it is stored, so the sample's audit
hash covers the image; content addressing makes the name the check. Files are written once and
never changed. A purge deletes the images of old samples but keeps the samples, hash included:
the record of what was counted outlives the picture of it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attendance.store import audit_log
from attendance.store.models import Sample, SampleStatus

SHA256 = re.compile(r"[0-9a-f]{64}")


def path_of(root: Path, sha256: str) -> Path:
    """Where the image with this hash lives: root/ab/ab….jpg. ValueError for anything but 64
    lower-case hex digits, so no caller can join unchecked input into a path."""
    if not SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return root / sha256[:2] / f"{sha256}.jpg"


def store(root: Path, jpeg: bytes) -> str:
    """Keep an image and return its SHA-256. A file of that name already holds these bytes, so
    it is left alone; a new one appears whole or not at all (written aside, then linked)."""
    sha256 = hashlib.sha256(jpeg).hexdigest()
    path = path_of(root, sha256)
    if path.exists():
        return sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(jpeg)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)  # unlike a rename, never replaces a file written meanwhile
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    return sha256


def sites_of(session: Session, sha256: str) -> set[int]:
    """The sites whose samples show this image (identical frames may occur at several)."""
    query = select(Sample.site_id).where(Sample.evidence_sha256 == sha256).distinct()
    return set(session.scalars(query))


def latest_image(session: Session, root: Path, site_id: int, session_id: int) -> str | None:
    """The hash of the image of the site's latest count in the session (gated samples reuse
    that count), or None when it kept none or the image was purged."""
    query = (
        select(Sample.evidence_sha256)
        .where(
            Sample.site_id == site_id,
            Sample.session_id == session_id,
            Sample.status == SampleStatus.OK,
        )
        .order_by(Sample.slot.desc())
        .limit(1)
    )
    sha256 = session.scalar(query)
    return sha256 if sha256 and path_of(root, sha256).is_file() else None


@dataclass
class Purge:
    """What a purge deleted (or, dry, would delete)."""

    cutoff: datetime
    files: list[tuple[Path, int]] = field(default_factory=list)  # path, bytes
    failed: list[tuple[Path, str]] = field(default_factory=list)  # path, why it is still there

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)


def purge(session: Session, root: Path, cutoff: datetime, dry_run: bool = False) -> Purge:
    """Delete the images whose every sample is older than `cutoff`; the samples stay as they
    are. A real purge is recorded in the audit log (in the caller's transaction) with what it
    deleted, even when some files could not be deleted (`failed`)."""
    done = Purge(cutoff)
    for sha256 in session.scalars(_expired(cutoff)):
        path = path_of(root, sha256)
        try:
            size = path.stat().st_size
            if not dry_run:
                path.unlink()
        except FileNotFoundError:  # purged before
            continue
        except OSError as exc:
            done.failed.append((path, exc.strerror or str(exc)))
            continue
        done.files.append((path, size))
    if not dry_run:
        payload = {"cutoff": cutoff.isoformat(), "files": len(done.files), "bytes": done.bytes}
        if done.failed:
            payload["failed"] = len(done.failed)
        audit_log.record(session, "evidence.purge", payload, entity="evidence")
    return done


def _expired(cutoff: datetime):
    """Hashes of images no sample at or after `cutoff` shows: one pass over the samples."""
    return (
        select(Sample.evidence_sha256)
        .where(Sample.evidence_sha256.is_not(None))
        .group_by(Sample.evidence_sha256)
        .having(func.max(Sample.slot) < cutoff)
    )
