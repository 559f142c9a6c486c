"""`attendance bench audit` end to end on a small chain."""

from __future__ import annotations

import json


def test_bench_audit_small(cli):
    result = cli("bench", "audit", "--events", "60", "--samples", "450")
    assert result.code == 0, result.err
    figures = json.loads(result.out.strip().splitlines()[-1])
    assert (figures["events"], figures["samples"]) == (60, 450)
    assert figures["seconds"] > 0 and figures["peak_rss_mb"] > 0
