"""`attendance simulate sites | sites-file | video` as a user runs them."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import cv2
import pytest

from attendance.cli.simulate import DEFAULT_PORT
from attendance.examples.generate import example_sites
from attendance.importing.columns import SITES
from attendance.importing.table import read_table
from tests.simulate.harness import simulator_process

COMMITTED = Path(__file__).parents[2] / "configs" / "examples" / "sites-simulator.csv"


def test_committed_simulator_sites_match_the_generator(cli, tmp_path: Path):
    """configs/examples/sites-simulator.csv is `attendance simulate sites-file` output."""
    result = cli("simulate", "sites-file", tmp_path / "sites.csv")
    assert result.code == 0, result.err
    assert (tmp_path / "sites.csv").read_bytes() == COMMITTED.read_bytes()
    rows = [cells for _, cells in read_table(COMMITTED, SITES).rows]
    assert rows == example_sites(100)
    assert DEFAULT_PORT == 8090
    assert rows[0]["stream_url"] == "http://127.0.0.1:8090/cameras/DC01001/snapshot.jpg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "DC01001"], "expected CODE=KIND"),
        (["--fault", "DC01001=melted"], "unknown fault 'melted'"),
        (["--count", "5", "--fault", "DC06001=drop"], "no site 'DC06001'"),
        (["--size", "1280"], "is not WIDTHxHEIGHT"),
        (["--size", "20x20"], "width 64..7680"),
        (["--count", "0"], "1<=x<=20000"),
        (["--mcu-size", "1918x1080"], "must divide by 4"),
        (["--distinct", "0"], "1<=x<=20000"),
    ],
)
def test_bad_options_are_clear_errors(cli, args: list[str], message: str):
    result = cli("simulate", "sites", *args)
    assert result.code == 2
    assert message in result.err


def test_sites_serves_until_ctrl_c():
    """The real command with a render process: prints its URL, serves, stops on SIGINT."""
    with simulator_process("simulate", "sites", "--count", "3", "--port", "0", "--size",
                           "320x180", "--mcu-size", "320x180", "--fault", "DC02001=black"
                           ) as server:  # fmt: skip
        banner = server.stdout.readline()
        assert "3 sites" in banner, server.stderr.read() if server.poll() else banner
        assert "DC02001=black" in server.stdout.readline()
        url = banner.split()[1]
        with urllib.request.urlopen(f"{url}/cameras/DC01001/snapshot.jpg", timeout=30) as r:
            assert r.headers["Content-Type"] == "image/jpeg" and len(r.read()) > 1000
    err = server.stderr_text
    assert server.returncode == 0
    assert "simulator stopped" in err and "Traceback" not in err


def test_video_writes_a_readable_clip_and_its_truth(cli, tmp_path: Path):
    out = tmp_path / "clip.mp4"
    result = cli("simulate", "video", "--site", "DC01001", "--seconds", "3", "--fps", "4",
                 "--speed", "400", "--size", "320x180", "--out", out)  # fmt: skip
    assert result.code == 0, result.err
    capture = cv2.VideoCapture(str(out))
    frames = []
    while (grabbed := capture.read())[0]:
        frames.append(grabbed[1])
    capture.release()
    assert len(frames) == 12 and frames[0].shape == (180, 320, 3)
    truth = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert truth["frames"] == 12 and truth["site"] == "DC01001"
    states = truth["states"]
    assert len(states) > 1 and states[0]["first_frame"] == 0 and states[-1]["last_frame"] == 11
    assert all(len(s["faces"]) == s["visible_faces"] for s in states)
