"""`attendance conference …` and `attendance session …`."""

from __future__ import annotations

import click

from attendance import conferences as service
from attendance.cli.common import emit, json_option, open_engine, with_settings
from attendance.config import Settings
from attendance.store.db import transaction
from attendance.store.sessions import list_conferences, list_sessions
from attendance.times import local, parse_time


@click.group()
def conference() -> None:
    """Conferences: campaigns such as studying one resolution, held in sessions."""


@conference.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Full name, e.g. 'Học tập Nghị quyết Hội nghị TW 10'.")
@click.option("--description", help="Free text.")
@with_settings
def conference_create(code: str, name: str, description: str | None, settings: Settings) -> None:
    """Create conference CODE."""
    with transaction(open_engine(settings)) as session:
        service.create_conference(session, code, name, description)
    click.echo(f"conference {code} created")


@conference.command("list")
@json_option
@with_settings
def conference_list(as_json: bool, settings: Settings) -> None:
    """List conferences with their number of sessions."""
    with transaction(open_engine(settings)) as session:
        rows = list_conferences(session)
    emit(rows, as_json, ("code", "name", "sessions"))


@click.group("session")
def session_group() -> None:
    """Sessions: the time windows of a conference during which every site is sampled."""


@session_group.command("create")
@click.argument("code")
@click.option("--conference", "conference_code", required=True, metavar="CODE")
@click.option("--name", help="Display name (default: the code).")
@click.option("--start", required=True, metavar="TIME", help="'2026-11-25 08:00' local, or ISO.")
@click.option("--end", required=True, metavar="TIME", help="Same format as --start.")
@click.option("--timezone", help="Zone of --start/--end (default: sites.timezone setting).")
@click.option("--cadence", type=int, metavar="SECONDS", help="Sampling cadence override.")
@with_settings
def session_create(
    code: str,
    conference_code: str,
    name: str | None,
    start: str,
    end: str,
    timezone: str | None,
    cadence: int | None,
    settings: Settings,
) -> None:
    """Create session CODE of a conference."""
    zone = timezone or settings.sites.timezone
    starts_at, ends_at = parse_time(start, zone), parse_time(end, zone)
    with transaction(open_engine(settings)) as session:
        service.create_session(
            session, conference_code, code, name or code, starts_at, ends_at, cadence
        )
    window = f"{local(starts_at, zone)} → {local(ends_at, zone)}"
    click.echo(f"session {conference_code}/{code} created: {window}")


@session_group.command("list")
@click.option("--conference", "conference_code", metavar="CODE", help="Only this conference.")
@json_option
@with_settings
def session_list(conference_code: str | None, as_json: bool, settings: Settings) -> None:
    """List sessions by start time (shown in the sites.timezone setting; JSON in UTC)."""
    with transaction(open_engine(settings)) as session:
        rows = list_sessions(session, conference_code)
    if not as_json:
        for row in rows:
            for key in ("starts_at", "ends_at"):
                row[key] = local(row[key], settings.sites.timezone)
    emit(rows, as_json, ("conference", "code", "name", "starts_at", "ends_at", "cadence_s"))


COMMANDS = (conference, session_group)
