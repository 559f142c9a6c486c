"""`attendance users …`: the people who sign in to the dashboard or call the API."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime

import click

from attendance.cli.common import emit, json_option, open_engine, with_settings
from attendance.config import Settings
from attendance.store.db import transaction
from attendance.users import add_user, create_token, list_users


@click.group()
def users() -> None:
    """People who sign in to the dashboard or call the API."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "organizer", "operator", "auditor"])
)
@click.option("--name", "full_name", help="Full name, shown in logs and reports.")
@click.option("--site", "sites", multiple=True, metavar="CODE", help="Operator scope (repeatable).")
@click.option(
    "--region", "regions", multiple=True, metavar="PATH", help="Operator scope: a region path."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_settings
def users_add(
    username, role, full_name, sites, regions, password_stdin, settings: Settings
) -> None:
    """Add USERNAME with a role (operators: with their sites or regions)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    with transaction(open_engine(settings)) as session:
        add_user(session, username, role, password, full_name, list(sites), list(regions))
    click.echo(f"user {username} ({role}) added")


@users.command("list")
@json_option
@with_settings
def users_list(as_json: bool, settings: Settings) -> None:
    """Users with their roles and scopes."""
    with transaction(open_engine(settings)) as session:
        rows = list_users(session)
    emit(rows, as_json, ("username", "role", "full_name", "scope", "active"))


@users.command("token")
@click.argument("username")
@click.option("--label", help="What the token is for, e.g. 'export script'.")
@with_settings
def users_token(username: str, label: str | None, settings: Settings) -> None:
    """Create an API token for USERNAME; it is printed once (send it as 'Authorization: Bearer')."""
    with transaction(open_engine(settings)) as session:
        token = create_token(session, username, label, datetime.now(UTC))
    click.echo(token)


COMMANDS = (users,)
