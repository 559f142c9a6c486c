"""Signed audit bundles: what a conference's figures rest on, in one file that verifies with the
key and fails verification after any one-byte change, a cut, or another key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from attendance.store.audit_log import chain_head
from attendance.store.db import transaction
from attendance.store.models import Sample
from tests.export.world import CODE, EVIDENCE, REASON, build

KEY = "khóa-bí-mật-của-ban-kiểm-tra-2026"


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ATTENDANCE_AUDIT_SIGNING_KEY", KEY)
    return KEY


def test_bundle_holds_the_record_and_verifies(cli, db, engine, tmp_path, signing_key):
    build(cli, db, engine, tmp_path)
    out = tmp_path / "tw10.jsonl"
    done = cli("audit", "export", "--conference", "TW10", "--out", out, "--db", db)
    assert done.code == 0, done.err
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "header" and kinds[-1] == "trailer"
    order = ["header", "session", "reconciliation", "estimate", "correction", "headcount",
             "sample", "audit_event", "trailer"]  # fmt: skip
    assert sorted(set(kinds), key=order.index) == [k for k in order if k in kinds] == order
    assert kinds == sorted(kinds, key=order.index), "sections are contiguous and in order"

    by_kind = {kind: [line for line in lines if line["type"] == kind] for kind in order}
    assert by_kind["header"][0]["conference"] == {"code": "TW10", "name": "Hội nghị Trung ương 10"}
    site = next(r for r in by_kind["reconciliation"] if r["code"] == CODE)
    assert (site["calibrated"], site["corrected"], site["present"]) == (11.0, 13.0, 13)
    assert by_kind["correction"][0]["reason"] == REASON
    with transaction(engine) as session:
        samples = session.scalar(select(func.count()).select_from(Sample))
        head, events = chain_head(session)
    assert len(by_kind["sample"]) == samples
    assert {s["evidence_sha256"] for s in by_kind["sample"]} == {None, EVIDENCE}
    actions = [event["action"] for event in by_kind["audit_event"]]
    assert actions == [
        "conference.create",
        "session.create",
        "samples.store",  # the batch that lists the samples
        "headcount",
        "estimates.change",  # the correction reconciled the session: its estimates were stored
        "correction",
    ]
    trailer = by_kind["trailer"][0]
    assert (trailer["chain_head"], trailer["chain_events"]) == (head, events)
    assert trailer["lines"] == len(lines)

    checked = cli("audit", "export-verify", out)
    assert checked.code == 0, checked.err
    assert "signature valid" in checked.out and head in checked.out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_any_changed_byte_a_cut_or_another_key_fails(
    cli, db, engine, tmp_path, signing_key, monkeypatch
):
    build(cli, db, engine, tmp_path)
    out = tmp_path / "tw10.jsonl"
    assert cli("audit", "export", "--conference", "TW10", "--out", out, "--db", db).code == 0
    original = out.read_bytes()
    trailer = original.rindex(b"\n", 0, len(original) - 1) + 1
    for at in (12, len(original) // 2, trailer + 20, len(original) - 10, len(original) - 2):
        altered = bytearray(original)
        altered[at] ^= 0x01
        out.write_bytes(bytes(altered))
        failed = cli("audit", "export-verify", out)
        assert failed.code == 3, (at, failed.out)
        assert "signature does not match" in failed.err or "not a signed trailer" in failed.err
    out.write_bytes(original[:trailer])
    assert "not a signed trailer" in cli("audit", "export-verify", out).err
    out.write_bytes(original)
    assert cli("audit", "export-verify", out).code == 0
    monkeypatch.setenv("ATTENDANCE_AUDIT_SIGNING_KEY", "x" * 32)
    other = cli("audit", "export-verify", out)
    assert other.code == 3 and "another key" in other.err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_key_no_export_and_the_key_is_never_shown(cli, db, tmp_path, monkeypatch):
    out = tmp_path / "b.jsonl"
    refused = cli("audit", "export", "--conference", "TW10", "--out", out, "--db", db)
    assert refused.code == 2 and "ATTENDANCE_AUDIT_SIGNING_KEY" in refused.err
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    out.write_text("{}\n")
    config = tmp_path / "short.toml"
    config.write_text('[audit]\nsigning_key = "short"\n')
    short = cli("audit", "export-verify", out, "--config", config)
    assert short.code == 2 and "at least 16 characters" in short.err
    monkeypatch.setenv("ATTENDANCE_AUDIT_SIGNING_KEY", KEY)
    shown = cli("config", "show")
    assert shown.code == 0 and '"signing_key": "***"' in shown.out and KEY not in shown.out
