"""Signed audit bundles: everything a conference's figures rest on, in one file that cannot be
altered without it showing.

A bundle is JSON lines: a header, the conference's sessions, every site's reconciliation and
stored estimate, the corrections, the headcounts, the samples (with their frame and evidence
hashes) and the audit events about those records (the sample batches that list them
included); then a trailer with the audit chain's head and an HMAC-SHA256 (key: the
`audit.signing_key` setting). The trailer's signature is its last field and covers every byte
before it, the trailer's own fields included, so changing any byte of the file breaks it. The
chain head ties the bundle to the database it came from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import numpy as np
from sqlalchemy.orm import Session

from attendance.conferences import get_conference
from attendance.config import Settings
from attendance.errors import AttendanceError, BadInput
from attendance.results.reconcile import reconcile_session
from attendance.store.audit_log import SAMPLES_STORED, chain_head, events_about
from attendance.store.corrections import corrections_of
from attendance.store.estimates import estimates_of
from attendance.store.headcounts import headcounts_in
from attendance.store.samples import bundle_samples, stored_between
from attendance.store.sessions import conference_sessions

FORMAT, VERSION = "attendance-audit-bundle", 1
SIGNATURE = "hmac_sha256"
MIN_KEY = 16
SESSION_FIELDS = ("id", "code", "name", "starts_at", "ends_at", "cadence_s")
BATCH_SLACK = timedelta(minutes=5)  # a batch's event is written just after its samples
TRAILER = re.compile(rb'(\{.*,"' + SIGNATURE.encode() + rb'":")([0-9a-f]{64})"\}\n', re.S)


class BundleAltered(AttendanceError):
    """The bundle does not verify: altered, truncated, or signed with another key."""


@dataclass(frozen=True)
class Bundle:
    """What a bundle says about itself, once written or verified."""

    conference: str
    lines: int
    chain_head: str | None
    chain_events: int
    exported_at: str


def signing_key(settings: Settings) -> bytes:
    """The HMAC key; BadInput when it is unset or too short to be a key."""
    key = settings.audit.signing_key
    if key is None:
        raise BadInput(
            "no signing key: set audit.signing_key (environment variable "
            "ATTENDANCE_AUDIT_SIGNING_KEY) to sign and verify audit bundles"
        )
    secret = key.get_secret_value()
    if len(secret) < MIN_KEY:
        raise BadInput(f"audit.signing_key: at least {MIN_KEY} characters")
    return secret.encode()


def export_conference(
    db: Session, code: str, settings: Settings, now: datetime, out: BinaryIO, by: str
) -> Bundle:
    """Write the conference's bundle to `out`; reconciliations are recomputed, not stored."""
    writer = _Writer(out, signing_key(settings))
    conference = get_conference(db, code)
    sessions = conference_sessions(db, conference.id)
    ids = [s.id for s in sessions]
    header = {"format": FORMAT, "version": VERSION, "exported_at": now, "exported_by": by}
    writer.write("header", [header | {"conference": {"code": code, "name": conference.name}}])
    writer.write("session", [{name: getattr(s, name) for name in SESSION_FIELDS} for s in sessions])
    writer.write("reconciliation", _reconciliations(db, sessions, settings, now))
    writer.write("estimate", ({"session_id": i, **row} for i in ids for row in estimates_of(db, i)))
    corrections = [c for i in ids for c in reversed(corrections_of(db, i)[0])]
    writer.write("correction", corrections)
    headcounts = headcounts_in(db, ids)
    writer.write("headcount", headcounts)
    sample_ids = array("q")
    writer.write("sample", _noting(bundle_samples(db, ids), sample_ids))
    about = {
        "conference": {str(conference.id)},
        "session": {str(i) for i in ids},
        "correction": {str(c["id"]) for c in corrections},
        "headcount": {str(h["id"]) for h in headcounts},
    }
    writer.write("audit_event", _concerning(db, ids, about, sample_ids))
    head, events = chain_head(db)
    writer.sign({"chain_head": head, "chain_events": events})
    return Bundle(code, writer.lines, head, events, now.isoformat())


def _reconciliations(db, sessions, settings, now) -> Iterable[dict[str, Any]]:
    for conference_session in sessions:
        for result in reconcile_session(db, conference_session, settings, now):
            yield {"session_id": conference_session.id, **result.as_dict()}


def _noting(samples: Iterable[dict[str, Any]], ids: array) -> Iterator[dict[str, Any]]:
    for sample in samples:
        ids.append(sample["id"])
        yield sample


def _concerning(
    db: Session, session_ids: list[int], about: dict[str, set[str]], sample_ids: array
) -> Iterator[dict[str, Any]]:
    """The events about the bundle's records, and the batch events that list its samples."""
    first, last = stored_between(db, session_ids)
    batches = None if first is None else (SAMPLES_STORED, first, last + BATCH_SLACK)
    exported = np.sort(np.frombuffer(sample_ids, dtype=np.int64))
    for event in events_about(db, about, batches):
        if event["entity_id"] in about.get(event["entity"], ()) or _lists(event, exported):
            yield event


def _lists(event: dict[str, Any], exported: np.ndarray) -> bool:
    """Whether a batch event lists one of the exported samples (ids sorted in `exported`)."""
    if event["action"] != SAMPLES_STORED or not len(exported):
        return False
    listed = np.array([entry[0] for entry in event["payload"]["samples"]], dtype=np.int64)
    found = np.minimum(np.searchsorted(exported, listed), len(exported) - 1)
    return bool((exported[found] == listed).any())


class _Writer:
    """JSON lines into a file and the HMAC at once; a bundle is too big to hold twice."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self.out, self.mac, self.lines = out, hmac.new(key, digestmod=hashlib.sha256), 0

    def write(self, kind: str, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._emit((_json({"type": kind, **row}) + "\n").encode())

    def sign(self, fields: dict[str, Any]) -> None:
        body = _json({"type": "trailer", "lines": self.lines + 1, **fields})
        signed = f'{body[:-1]},"{SIGNATURE}":"'.encode()
        self.mac.update(signed)
        self.out.write(signed + self.mac.hexdigest().encode() + b'"}\n')

    def _emit(self, line: bytes) -> None:
        self.mac.update(line)
        self.out.write(line)
        self.lines += 1


def verify_bundle(lines: Iterable[bytes], key: bytes) -> Bundle:
    """Check a bundle read line by line (a binary file); BundleAltered if it does not verify."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    header, last, count = None, b"", 0
    for line in lines:
        if count:
            mac.update(last)
        header, last, count = header or line, line, count + 1
    match = TRAILER.fullmatch(last)
    if match is None:
        raise BundleAltered("the last line is not a signed trailer: the file is cut or altered")
    mac.update(match.group(1))
    if not hmac.compare_digest(mac.hexdigest().encode(), match.group(2)):
        raise BundleAltered("the signature does not match: altered, or signed with another key")
    first, trailer = json.loads(header), json.loads(last)
    return Bundle(
        first["conference"]["code"],
        count,
        trailer["chain_head"],
        trailer["chain_events"],
        first["exported_at"],
    )


def _json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a bundle")
