"""`attendance bench …`: benchmarks that print their figures, last line one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attendance.bench.audit import bench_audit
from attendance.bench.imports import bench_roster_import
from attendance.bench.reconcile import bench_reconcile
from attendance.bench.web import bench_web
from attendance.errors import BadInput


@click.group()
def bench() -> None:
    """Benchmarks on this machine; each prints its figures, the last line as JSON."""


@bench.command("import")
@click.option("--people", type=click.IntRange(1), default=150_000, show_default=True)
@click.option("--sites", type=click.IntRange(1, 63 * 999), default=900, show_default=True)
@click.option("--format", "file_format", type=click.Choice(["xlsx", "csv"]), default="xlsx")
@click.option(
    "--db", metavar="URL", help="SQLite or PostgreSQL URL (PostgreSQL: a scratch schema is used)."
)
def bench_import(people: int, sites: int, file_format: str, db: str | None) -> None:
    """Time a national roster import and an unchanged re-import; peak memory of each."""
    figures = bench_roster_import(people, sites, file_format, db, click.echo)
    click.echo(json.dumps(figures))


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {value!r}") from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("every number must be at least 1")
    return sizes


def _frame_size(value: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(
            f"expected WIDTHxHEIGHT such as 1920x1080, got {value!r}"
        ) from None
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise click.BadParameter("expected a size between 320x240 and 7680x4320")
    return width, height


@bench.command("detect")
@click.option("--frames", type=click.IntRange(1, 1000), default=6, show_default=True)
@click.option("--people", default="20,60,150", show_default=True, help="People per hall, cycled.")
@click.option("--size", default="1920x1080", show_default=True, help="Frame size WIDTHxHEIGHT.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--screen", is_flag=True, help="Halls with a screen showing faces (ROI excludes it).")
@click.option(
    "--hard", is_flag=True, help="Harder halls: turned heads, readers, occlusion, blur, dim light."
)
def bench_detect_command(
    frames: int, people: str, size: str, seed: int, screen: bool, hard: bool
) -> None:
    """Recall, precision and speed of our counter vs face_recognition at upsample 1 and 2."""
    from attendance.bench.detect import bench_detect  # imports the face models

    width, height = _frame_size(size)
    try:
        figures = bench_detect(
            frames, _sizes(people), width, height, seed, screen, click.echo, hard
        )
    except ValueError as exc:  # a hall that cannot be drawn at this size
        raise BadInput(str(exc)) from None
    click.echo(json.dumps(figures))


@bench.command("real")
@click.option(
    "--data",
    "folder",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder with truth.json (and meta.json), e.g. ../shared/data/wider-dev.",
)
@click.option("--dlib-cnn", is_flag=True, help="Also face_recognition's CNN (minutes a photo).")
def bench_real_command(folder: Path, dlib_cnn: bool) -> None:
    """Recall, precision and CPU of every detector on real photos with drawn boxes."""
    from attendance.bench.real import bench_real  # imports the face models

    click.echo(json.dumps(bench_real(folder, dlib_cnn, click.echo)))


@bench.command("gate")
@click.option("--size", default="1920x1080", show_default=True, help="Frame size WIDTHxHEIGHT.")
@click.option("--repeat", type=click.IntRange(10, 100_000), default=300, show_default=True)
def bench_gate_command(size: str, repeat: int) -> None:
    """Cost of the scene-change gate and the frame-quality flags per frame."""
    from attendance.bench.gate import bench_gate

    width, height = _frame_size(size)
    try:
        click.echo(json.dumps(bench_gate(width, height, repeat, click.echo)))
    except ValueError as exc:
        raise BadInput(str(exc)) from None


@bench.command("workers")
@click.option("--sites", type=click.IntRange(1, 20000), default=900, show_default=True)
@click.option("--cadence", type=click.IntRange(5, 3600), default=30, show_default=True)
@click.option("--minutes", type=click.FloatRange(0.5, 600), default=10, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option(
    "--rehearsal",
    type=click.FloatRange(0, 600),
    default=0,
    metavar="MINUTES",
    help="Run a worker this long first (a connection test), so cameras are already learned.",
)
def bench_workers_command(
    sites: int, cadence: int, minutes: float, seed: int, rehearsal: float
) -> None:
    """Simulated 1280x720 cameras and an embedded worker: slots, lag, count error, memory."""
    from attendance.bench.workers import bench_workers  # the composition root may import workers

    figures = bench_workers(sites, cadence, minutes, seed, click.echo, rehearsal)
    click.echo(json.dumps(figures))


@bench.command("cluster")
@click.option("--sites", type=click.IntRange(1, 20000), default=12000, show_default=True)
@click.option("--cadence", type=click.IntRange(5, 3600), default=60, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--minutes", type=click.FloatRange(0.5, 600), default=5, show_default=True,
              help="Length of the measured window.")  # fmt: skip
@click.option("--warmup", type=click.FloatRange(0, 60), default=2, show_default=True,
              help="Minutes before the window: first slots and first counts.")  # fmt: skip
@click.option("--distinct", type=click.IntRange(1, 20000), default=1000, show_default=True,
              help="Halls the simulator draws, shared by the sites.")  # fmt: skip
@click.option("--size", default="960x540", show_default=True, help="Camera frame size WxH.")
@click.option("--processes", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Detection processes per worker.")  # fmt: skip
@click.option("--db", metavar="URL", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
              show_default=True, help="PostgreSQL (a scratch schema is used).")  # fmt: skip
@click.option("--redis", "redis_url", metavar="URL", default="redis://127.0.0.1:6379/0",
              show_default=True, help="Redis (keys under a prefix of the run's own).")  # fmt: skip
def bench_cluster_command(
    sites, cadence, workers, minutes, warmup, distinct, size, processes, db, redis_url
) -> None:
    """Simulated cameras (mostly unchanged scenes), K cluster workers, PostgreSQL and Redis:
    slots due vs recorded, lag, samples/s, rows/s, RSS and CPU per worker."""
    from attendance.bench.cluster import bench_cluster  # the composition root may import workers

    if not db.startswith("postgresql"):
        raise BadInput("--db: the cluster runs on PostgreSQL, e.g. postgresql+psycopg://…/test")
    figures = bench_cluster(
        sites, cadence, minutes, workers, db, redis_url, click.echo, warmup,
        distinct=distinct, size=_frame_size(size), processes=processes,
    )  # fmt: skip
    click.echo(json.dumps(figures))


@bench.command("reconcile")
@click.option("--sites", type=click.IntRange(1, 63 * 999), default=12_000, show_default=True)
@click.option("--people", type=click.IntRange(1), default=1_500_000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option(
    "--db", metavar="URL", help="Database to bench (PostgreSQL: a scratch schema is used)."
)
def bench_reconcile_command(sites: int, people: int, seed: int, db: str | None) -> None:
    """Reconcile a 2-hour session of SITES sites and PEOPLE roster entries; time and memory."""
    figures = bench_reconcile(sites, people, db, seed, click.echo)
    click.echo(json.dumps(figures))


@bench.command("web")
@click.option("--sites", type=click.IntRange(1, 63 * 999), default=12_000, show_default=True)
@click.option("--clients", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(1, 5000),
    default=200,
    show_default=True,
    help="Simulated samples per second published to the live bus.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
def bench_web_command(sites: int, clients: int, rate: float, port: int) -> None:
    """Dashboard under load: first render, update delay, main-thread stalls, server memory."""
    figures = bench_web(sites, clients, rate, port, click.echo)
    click.echo(json.dumps(figures))


@bench.command("audit")
@click.option("--events", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option(
    "--samples",
    type=click.IntRange(0),
    default=200_000,
    show_default=True,
    help="Stored as a worker stores them, 200 per batch and audit event.",
)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option(
    "--db", metavar="URL", help="Database to bench (PostgreSQL: a scratch schema is used)."
)
def bench_audit_command(events: int, samples: int, seed: int, db: str | None) -> None:
    """Time `attendance audit verify` over a chain of EVENTS events listing SAMPLES samples."""
    figures = bench_audit(events, samples, db, seed, click.echo)
    click.echo(json.dumps(figures))


COMMANDS = (bench,)
