"""`attendance bench real`: every detector on a folder of photos with drawn boxes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from attendance.vision.hall import HallSpec, render_hall


def _folder(tmp_path: Path) -> Path:
    """Two small generated halls in the format of `../shared/data/wider-dev`."""
    truth, meta = {}, {}
    for seed, event in ((1, "Meeting"), (2, "Group")):
        spec = HallSpec(people=8, seed=seed, width=640, height=360, face_min=24, face_max=48)
        frame, plan = render_hall(spec)
        name = f"hall{seed}.jpg"
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        truth[name] = [list(p.box) for p in plan.people if p.visible]
        meta[name] = {"event": event, "ignore": []}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    return tmp_path


def test_bench_real_compares_every_method_and_ends_with_the_default_as_json(cli, tmp_path):
    result = cli("bench", "real", "--data", _folder(tmp_path))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    for method in ("library up2", "ours hog balanced", "ours centerface balanced"):
        assert any(line.startswith(method) for line in lines), method
    assert any(line.startswith("half A") for line in lines)
    figures = json.loads(lines[-1])
    assert figures["method"] == "ours centerface balanced" and figures["faces"] == 16
    assert figures["recall_24"] >= 0.8 and figures["precision"] >= 0.9
    assert 0 < figures["cpu_ratio_vs_up2"] < 1


def test_bench_real_names_the_file_and_entry_of_bad_truth(cli, tmp_path):
    folder = _folder(tmp_path)
    (folder / "truth.json").write_text(json.dumps({"hall1.jpg": [[1, 2, 3]]}))
    result = cli("bench", "real", "--data", folder)
    assert result.code == 2
    assert "truth.json: hall1.jpg: expected a list of [top, right, bottom, left]" in result.err


def test_count_takes_a_folder(cli, tmp_path):
    folder = _folder(tmp_path)
    result = cli("count", "--json", folder)
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [Path(r["image"]).name for r in records] == ["hall1.jpg", "hall2.jpg"]
    assert all(r["count"] >= 6 for r in records)
