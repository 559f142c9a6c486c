"""`attendance identify`: name the people in image files from a folder of known people's photos,
without a database (to try photos and tolerances before enrolling a roster)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attendance.cli.common import with_settings
from attendance.config import Settings
from attendance.enrolment.images import read_image
from attendance.enrolment.photos import find_photos
from attendance.errors import BadInput
from attendance.vision.counter import Counter
from attendance.vision.identify import (
    Decision,
    Gallery,
    Identity,
    PhotoError,
    encode_faces,
    encode_photo,
)

EXIT_BAD_INPUT = 2


def load_known(directory: Path) -> Gallery:
    """A gallery of everyone in `directory` (a folder per person). A photo without exactly one
    face is skipped with a warning; a person left without any photo is an error."""
    photos, others = find_photos(directory)
    for path in others:
        click.echo(f"warning: {path}: not a .jpg, .jpeg or .png file; ignored", err=True)
    labels, encodings, problems = [], [], {}
    for photo in photos:
        try:
            encodings.append(_encoding(photo.path))
            labels.append(photo.owner)
        except BadInput as exc:
            problems.setdefault(photo.owner, []).append(str(exc))
    for owner, reasons in problems.items():
        if owner not in labels:
            raise BadInput(f"{directory / owner}: no usable photo ({'; '.join(reasons)})")
        for reason in reasons:
            click.echo(f"warning: {reason}; skipped", err=True)
    return Gallery(labels, encodings)


def _encoding(path: Path):
    try:
        return encode_photo(read_image(path))
    except PhotoError as exc:
        raise BadInput(f"{path}: {exc}") from None


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--known",
    "known_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="A folder per person, named as the output should name them, holding their photos.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image and line.")
@click.option(
    "--tolerance",
    type=click.FloatRange(0, 1.2, min_open=True),
    help="Largest distance that counts as the same person; default: identify.tolerance (0.6).",
)
@with_settings
@click.pass_context
def identify(
    ctx: click.Context,
    images: tuple[Path, ...],
    known_dir: Path,
    as_json: bool,
    tolerance: float | None,
    settings: Settings,
) -> None:
    """Name the people in each IMAGE from the photos of known people.

    Faces are found as `attendance count` finds them. A face nobody matches is `unknown`; one
    that two people match nearly as well is `ambiguous`. An unreadable IMAGE is reported on
    stderr and the others are still identified; the exit code is then 2.
    """
    gallery = load_known(known_dir)
    tolerance = settings.identify.tolerance if tolerance is None else tolerance
    counter = Counter()
    failed = 0
    for path in images:
        try:
            image = read_image(path)
        except BadInput as exc:
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        boxes = counter.count(image).boxes
        verdicts = gallery.match(encode_faces(image, boxes), tolerance, settings.identify.margin)
        if as_json:
            faces = [_face_json(box, verdict) for box, verdict in zip(boxes, verdicts, strict=True)]
            click.echo(json.dumps({"image": str(path), "faces": faces}, ensure_ascii=False))
        else:
            names = ", ".join(_face_text(verdict) for verdict in verdicts) or "no faces"
            click.echo(f"{path}: {names}")
    if failed:
        ctx.exit(EXIT_BAD_INPUT)


def _face_json(box: tuple[int, ...], verdict: Identity) -> dict:
    return {
        "box": [int(value) for value in box],
        "name": verdict.label if verdict.decision == Decision.MATCH else None,
        "distance": None if verdict.distance is None else round(verdict.distance, 4),
        "decision": str(verdict.decision),
    }


def _face_text(verdict: Identity) -> str:
    if verdict.decision == Decision.MATCH:
        return f"{verdict.label} ({verdict.distance:.2f})"
    if verdict.decision == Decision.AMBIGUOUS:
        return f"{verdict.label}? (ambiguous, {verdict.distance:.2f})"
    return "unknown"


COMMANDS = (identify,)
