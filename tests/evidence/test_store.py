"""Evidence files: named by their SHA-256, written once and whole, never outside the directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from attendance.audit import evidence

JPEG = b"\xff\xd8 not really a picture \xff\xd9"


def test_an_image_is_named_by_its_hash_and_stored_once(tmp_path: Path):
    sha256 = evidence.store(tmp_path, JPEG)
    assert sha256 == hashlib.sha256(JPEG).hexdigest()
    path = tmp_path / sha256[:2] / f"{sha256}.jpg"
    assert path == evidence.path_of(tmp_path, sha256) and path.read_bytes() == JPEG
    before = path.stat()
    assert evidence.store(tmp_path, JPEG) == sha256
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file is left"


def test_an_existing_file_is_never_overwritten(tmp_path: Path):
    """Someone else's copy (another worker, a restore) stays as it is."""
    sha256 = hashlib.sha256(JPEG).hexdigest()
    path = evidence.path_of(tmp_path, sha256)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"kept")
    assert evidence.store(tmp_path, JPEG) == sha256
    assert path.read_bytes() == b"kept"


def test_a_failed_write_raises(tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")  # the evidence directory cannot be created under a file
    with pytest.raises(OSError):
        evidence.store(blocked, JPEG)


@pytest.mark.parametrize(
    "name", ["../" * 3 + "etc/passwd", "A" * 64, "a" * 63, "a" * 65, "g" * 64, "", "ab/../cd"]
)
def test_only_a_hex_digest_names_a_file(tmp_path: Path, name: str):
    with pytest.raises(ValueError, match="not a SHA-256"):
        evidence.path_of(tmp_path, name)
