"""`attendance simulate …`: synthetic pictures with ground truth, for demos, tests, benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import click
import cv2

from attendance.vision.hall import HallSpec, render_hall, truth


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
    out: Path,
    truth_file: Path,
) -> None:
    """Draw a conference hall of seated PEOPLE in perspective; write the image and its truth."""
    if out.suffix.lower() not in {".png", ".jpg", ".jpeg"}:
        raise click.BadParameter("must end in .png, .jpg or .jpeg", param_hint="--out")
    spec = HallSpec(people, width, height, seed, face_min, face_max, screen, looking_down)
    try:
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


COMMANDS = (simulate,)
