"""The benchmarks run end to end on small inputs and end with their JSON line."""

from __future__ import annotations

import json

import pytest


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_bench_detect_small(cli):
    result = cli("bench", "detect", "--frames", "1", "--people", "10", "--size", "960x540")
    assert result.code == 0, result.err
    figures = _last_json(result.out)
    assert set(figures) >= {
        "recall_24", "recall_all", "precision", "count_mae", "ms_per_frame", "speed_ratio_vs_up2",
    }  # fmt: skip
    assert 0 <= figures["recall_all"] <= 1 and figures["ms_per_frame"] > 0
    assert "library up2" in result.out and "ours balanced" in result.out


def test_bench_gate(cli):
    result = cli("bench", "gate", "--repeat", "10")
    assert result.code == 0, result.err
    figures = _last_json(result.out)
    assert figures["noise_ignored"] and figures["departure_seen"]


def test_bench_import_small(cli):
    result = cli("bench", "import", "--people", "300", "--sites", "10", "--format", "csv")
    assert result.code == 0, result.err
    figures = _last_json(result.out)
    assert figures["people"] == 300 and figures["first_s"] > 0


@pytest.mark.parametrize(("option", "value"), [("--size", "big"), ("--people", "1,x")])
def test_bad_bench_options(cli, option: str, value: str):
    result = cli("bench", "detect", option, value)
    assert result.code == 2
    assert "Invalid value" in result.err
