"""`attendance count`: count faces in image files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attendance.enrolment.images import read_image
from attendance.errors import BadInput
from attendance.vision.counter import QUALITIES, Counter
from attendance.vision.detectors import DEFAULT_MODEL, MODELS, load_models
from attendance.vision.roi import Roi, RoiError

EXIT_BAD_INPUT = 2


def load_roi(path: Path | None) -> Roi | None:
    if path is None:
        return None
    try:
        return Roi.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise BadInput(f"{path}: ROI file not found") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from None
    except RoiError as exc:
        raise BadInput(f"{path}: {exc}") from None


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image and line.")
@click.option(
    "--roi",
    "roi_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='JSON {"include": [polygons], "exclude": [polygons]}, points [x, y] in 0..1.',
)
@click.option("--model", type=click.Choice(MODELS), default=DEFAULT_MODEL, show_default=True)
@click.option("--quality", type=click.Choice(QUALITIES), default="balanced", show_default=True)
@click.pass_context
def count(
    ctx: click.Context,
    images: tuple[Path, ...],
    as_json: bool,
    roi_file: Path | None,
    model: str,
    quality: str,
) -> None:
    """Count the faces in each IMAGE (a file, or a folder of images).

    A file that cannot be read is reported on stderr and the others are still counted; the
    exit code is then 2.
    """
    counter = Counter(quality, model, load_roi(roi_file))
    load_models(model)
    failed = 0
    for path in image_files(images):
        try:
            frame = read_image(path)
        except BadInput as exc:
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        result = counter.count(frame)
        if as_json:
            record = {
                "image": str(path),
                "count": result.count,
                "faces": [list(box) for box in result.boxes],
                "ms": result.timings["total"],
            }
            click.echo(json.dumps(record))
        else:
            click.echo(f"{path}: {result.count} faces ({result.timings['total']:.0f} ms)")
    if failed:
        ctx.exit(EXIT_BAD_INPUT)


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def image_files(paths: tuple[Path, ...]) -> list[Path]:
    """The paths given, a folder replaced by its image files (by name; not its subfolders)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


COMMANDS = (count,)
