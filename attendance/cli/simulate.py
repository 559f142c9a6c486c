"""`attendance simulate …`: synthetic pictures with ground truth, for demos, tests, benchmarks."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from pathlib import Path

import click
import cv2

from attendance.examples.generate import SITE_HEADERS_VI, example_sites, write_table
from attendance.vision.hall import HallSpec, hard_spec, render_hall, truth

DEFAULT_PORT = 8090


class FrameSize(click.ParamType):
    """WIDTHxHEIGHT in pixels, e.g. 1280x720."""

    name = "WxH"

    def convert(self, value, param, ctx) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        match = re.fullmatch(r"(\d+)[x×](\d+)", str(value).strip())
        if not match:
            self.fail(f"{value!r} is not WIDTHxHEIGHT, e.g. 1280x720", param, ctx)
        width, height = int(match[1]), int(match[2])
        if not (64 <= width <= 7680 and 64 <= height <= 4320):
            self.fail(f"{value}: width 64..7680 and height 64..4320", param, ctx)
        return width, height


@click.group()
def simulate() -> None:
    """Synthetic scenes whose every face is known."""


@simulate.command("hall")
@click.option("--people", type=click.IntRange(0), required=True, help="People present.")
@click.option("--width", type=click.IntRange(160, 7680), default=1920, show_default=True)
@click.option("--height", type=click.IntRange(90, 4320), default=1080, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--screen", is_flag=True, help="A projection screen on the wall showing faces.")
@click.option(
    "--looking-down",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of present people whose face is hidden.",
)
@click.option("--face-min", type=click.IntRange(8), default=17, show_default=True,
              help="Face size (px) in the back row.")  # fmt: skip
@click.option("--face-max", type=click.IntRange(8), default=70, show_default=True,
              help="Face size (px) in the front row.")  # fmt: skip
@click.option(
    "--hard",
    is_flag=True,
    help="As real cameras see halls: turned heads, readers, occlusion, backs, blur, dim or "
    "warm light, JPEG 50 (--looking-down, if given, replaces its 5 %).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Image file: .png or .jpg.")  # fmt: skip
@click.option("--truth", "truth_file", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Ground truth JSON file.")  # fmt: skip
def simulate_hall(
    people: int,
    width: int,
    height: int,
    seed: int,
    screen: bool,
    looking_down: float,
    face_min: int,
    face_max: int,
    hard: bool,
    out: Path,
    truth_file: Path,
) -> None:
    """Draw a conference hall of seated PEOPLE in perspective; write the image and its truth."""
    if out.suffix.lower() not in {".png", ".jpg", ".jpeg"}:
        raise click.BadParameter("must end in .png, .jpg or .jpeg", param_hint="--out")
    spec = HallSpec(people, width, height, seed, face_min, face_max, screen, looking_down)
    try:
        if hard:
            shares = {"looking_down": looking_down} if looking_down else {}
            faces = {"face_min": face_min, "face_max": face_max}
            spec = replace(hard_spec(people, seed, width, height), screen=screen, **faces, **shares)
        frame, plan = render_hall(spec)
    except ValueError as exc:  # the spec cannot be drawn, e.g. more people than seats
        raise click.UsageError(str(exc)) from exc
    if not cv2.imwrite(str(out), frame[..., ::-1]):  # OpenCV writes BGR
        raise click.FileError(str(out), "OpenCV could not write the image")
    facts = truth(plan)
    truth_file.write_text(json.dumps(facts, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(
        f"{out}, {truth_file}: {facts['present']} people, {facts['visible']} faces visible, "
        f"{facts['screen_faces']} on the screen"
    )
    if hard:
        kinds = ", ".join(f"{k} {v['visible']}/{v['present']}" for k, v in facts["kinds"].items())
        click.echo(f"visible/present by kind: {kinds}")


def _faults(values: tuple[str, ...], codes: list[str]) -> dict[str, str]:
    from attendance.simulate.server import check_fault

    faults = {}
    for value in values:
        code, sep, kind = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r}: expected CODE=KIND", param_hint="--fault")
        try:
            check_fault(code.strip(), kind.strip(), codes)
        except ValueError as exc:
            hint = f" (simulated: {codes[0]} … {codes[-1]})" if "no site" in str(exc) else ""
            raise click.BadParameter(f"{value!r}: {exc}{hint}", param_hint="--fault") from None
        faults[code.strip()] = kind.strip()
    return faults


@simulate.command("sites")
@click.option(
    "--count",
    type=click.IntRange(1, 20000),
    default=100,
    show_default=True,
    help="Sites to simulate: the first COUNT example sites (attendance examples).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--seed",
    type=int,
    default=2026,
    show_default=True,
    help="Seed of the example sites and of every hall's session.",
)
@click.option(
    "--size",
    type=FrameSize(),
    metavar="WxH",
    default="1280x720",
    show_default=True,
    help="Camera frame size.",
)
@click.option(
    "--mcu-size",
    type=FrameSize(),
    default="1920x1080",
    show_default=True,
    help="MCU composite size (4×4 tiles).",
)
@click.option(
    "--speed",
    type=click.FloatRange(0, 10000, min_open=True),
    default=1.0,
    show_default=True,
    help="Session seconds per second (time acceleration).",
)
@click.option(
    "--period",
    type=click.FloatRange(10, 7200),
    default=240.0,
    show_default=True,
    help="Mean session seconds between a site's changes (each site ±40 %).",
)
@click.option(
    "--fault",
    "fault_specs",
    multiple=True,
    metavar="CODE=KIND",
    help="A faulty camera from the start; repeatable. KIND: timeout, garbage, drop, "
    "frozen, black, http500.",
)
@click.option(
    "--render-workers",
    type=click.IntRange(0, 16),
    default=1,
    show_default=True,
    help="Processes drawing frames (0: a thread of the server).",
)
@click.option(
    "--quality", type=click.IntRange(30, 100), default=80, show_default=True, help="JPEG quality."
)
@click.option(
    "--variants",
    type=click.IntRange(1, 8),
    default=3,
    show_default=True,
    help="Noise variants encoded per state (memory: ~140 kB each at 720p).",
)
@click.option(
    "--warm", is_flag=True, help="Draw every site before listening; the session starts after that."
)
@click.option(
    "--hard",
    is_flag=True,
    help="Hard halls: turned heads, readers, backs, blur, dim or warm light (no occlusion).",
)
@click.option(
    "--distinct",
    type=click.IntRange(1, 20000),
    help="Draw only N halls: site i (in the order of `attendance examples`) shows the hall, "
    "session and truth of site i mod N. Default: every site its own hall.",
)
def simulate_sites(
    count: int,
    port: int,
    seed: int,
    size: tuple[int, int],
    mcu_size: tuple[int, int],
    speed: float,
    period: float,
    fault_specs: tuple[str, ...],
    render_workers: int,
    quality: int,
    variants: int,
    warm: bool,
    hard: bool,
    distinct: int | None,
) -> None:
    """Serve COUNT synthetic site cameras over HTTP until Ctrl-C.

    The sites are those of `attendance examples` (same codes), whose stream URLs point here
    with the default port. Each hall fills and empties over a session that starts with the
    server: most people are seated at the start, the rest arrive in the first minutes, a few
    come late or leave early, and some look down. Every site changes every few minutes, at
    its own moment; 1 site in 5 has a screen showing faces.

    \b
    GET  /cameras/CODE/snapshot.jpg   the current frame (JPEG)
    GET  /cameras/CODE/mjpeg          MJPEG, boundary=frame, 2 frames/s
    GET  /mcu/PAGE/snapshot.jpg       4×4 composite of sites 16·PAGE… (code order)
    GET  /mcu/PAGE/mjpeg, /mcu/PAGE/layout
    GET  /truth, /truth/CODE          who is there now (present, visible faces, looking down,
                                      screen faces; per site: screen polygon, face boxes)
    POST /faults/CODE {"kind": KIND or null}

    \b
    Faults: timeout  never answers
            garbage  200 image/jpeg of random bytes (MJPEG: random parts)
            drop     half a JPEG, then the connection closes (MJPEG: mid-part)
            frozen   the same bytes forever
            black    a black frame with sensor noise
            http500  status 500 (MJPEG: 500, or the stream ends)

    A state is drawn when first asked for (~0.15 s at 1280x720, in a render process), then
    served from memory. For a benchmark of many sites use --warm (the port opens once all are
    drawn: ~1 min for 900 sites on 2 cores) and, to draw less often, a longer --period.
    For thousands of sites add --distinct N: only N halls are drawn and the sites share them
    (12,000 sites with --distinct 1000 --size 960x540: ready in under a minute, < 1 GB).
    """
    from attendance.simulate.cameras import CameraSettings
    from attendance.simulate.server import SimulatorConfig, serve

    codes = [site["site_code"] for site in example_sites(count, seed)]
    faults = _faults(fault_specs, codes)
    try:
        mcu = {"mcu_width": mcu_size[0], "mcu_height": mcu_size[1]}
        camera = CameraSettings(*size, quality=quality, variants=variants, hard=hard, **mcu)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    config = SimulatorConfig(
        tuple(codes), seed, camera, speed, period, faults, render_workers, distinct=distinct
    )
    halls = min(count, distinct or count)
    drawn = "halls" if halls < count else "sites"  # what --warm draws

    def ready(url: str, sim) -> None:
        first = sorted(codes)[0]
        shared = f" showing {halls} halls" if halls < count else ""
        click.echo(
            f"simulator: {url} — {count} sites{shared} ({first} … {sorted(codes)[-1]}), "
            f"{size[0]}×{size[1]}, speed {speed:g}×, MCU pages 0–{sim.pages() - 1}"
        )
        listed = ", ".join(f"{code}={kind}" for code, kind in sorted(faults.items()))
        click.echo(f"faults: {listed or 'none'}")
        click.echo(f"e.g. {url}/cameras/{first}/snapshot.jpg and {url}/truth; Ctrl-C stops")
        if not warm and halls > 100:
            note = f"each {drawn[:-1]} is drawn when first asked for, ~0.15 s each, one at a time"
            click.echo(f"note: {note}; --warm draws all {halls} first", err=True)

    def progress(done: int) -> None:
        if done % 100 == 0 or done == halls:
            click.echo(f"drawn {done}/{halls} {drawn}", err=True)

    try:
        asyncio.run(serve(config, port, ready, progress if warm else None))
    except KeyboardInterrupt:  # Ctrl-C; SIGTERM ends serve() without an exception
        pass
    except OSError as exc:  # mostly: the port is taken
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {exc}") from exc
    click.echo("simulator stopped", err=True)


@simulate.command("sites-file")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--count", type=click.IntRange(1, 20000), default=100, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
def simulate_sites_file(file: Path, count: int, port: int, seed: int) -> None:
    """Write the sites `simulate sites` serves as an import FILE (.csv, .xlsx or .txt).

    Their stream URLs point at the simulator's snapshots on 127.0.0.1:PORT. With the defaults
    this is configs/examples/sites-simulator.csv.
    """
    base = f"http://127.0.0.1:{port}/cameras"
    rows = example_sites(count, seed, stream_base=base)
    write_table(rows, file, {name: name for name in SITE_HEADERS_VI})
    click.echo(f"{file}: {len(rows)} sites, streams at {base}/CODE/snapshot.jpg")


@simulate.command("video")
@click.option("--site", "code", required=True, help="Site code, e.g. DC01001.")
@click.option(
    "--seconds",
    type=click.FloatRange(0, 3600, min_open=True),
    default=10.0,
    show_default=True,
    help="Length of the clip.",
)
@click.option("--fps", type=click.FloatRange(1, 60), default=5.0, show_default=True)
@click.option(
    "--speed",
    type=click.FloatRange(0, 10000, min_open=True),
    default=60.0,
    show_default=True,
    help="Session seconds per second of video.",
)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--size", type=FrameSize(), metavar="WxH", default="1280x720", show_default=True)
@click.option(
    "--period",
    type=click.FloatRange(10, 7200),
    default=240.0,
    show_default=True,
    help="Mean session seconds between a site's changes (each site ±40 %).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Video file (.mp4).",
)
@click.option(
    "--truth",
    "truth_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Truth JSON; default: OUT with .json.",
)
def simulate_video(
    code: str,
    seconds: float,
    fps: float,
    speed: float,
    seed: int,
    size: tuple[int, int],
    period: float,
    out: Path,
    truth_file: Path | None,
) -> None:
    """Write one site's camera as an MP4 clip, with the truth of every state beside it.

    The site is the one `simulate sites` serves under CODE with the same seed and size; its
    session runs SPEED times faster than the clip so the hall fills and changes.
    """
    from attendance.simulate.cameras import CameraSettings, site_profile
    from attendance.simulate.video import write_clip

    camera = CameraSettings(*size)
    site = site_profile(camera, seed, code, period)
    try:
        facts = write_clip(out, camera, site, seconds, fps, speed)
    except OSError as exc:
        raise click.FileError(str(out), str(exc)) from exc
    truth_file = truth_file or out.with_suffix(".json")
    truth_file.write_text(json.dumps(facts, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"{out}: {facts['frames']} frames, {len(facts['states'])} states; {truth_file}")


COMMANDS = (simulate,)
