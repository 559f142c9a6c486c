"""The API fuzzed from its own OpenAPI document (issue 14): a real `attendance serve` on
loopback, over SQLite and PostgreSQL, every operation asked as an admin with generated requests,
valid and invalid.

No answer may be a 5xx; every answer must have a documented status, content type and body
schema; a request the document calls invalid must be refused (4xx), so the document's bounds are
the ones the server enforces. The run is bounded and repeatable (deterministic generation, a
fixed number of examples per operation and mode) and the server's log shows no failure of ours.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from attendance.store.db import transaction
from tests.helpers import free_port
from tests.web.test_api import (
    quick_passwords,  # noqa: F401 (autouse: applies here too)
    seed,
    session_id,
)

EXAMPLES = 25  # per operation and mode: the whole run stays near a minute
KNOWN_SHARE = 0.5  # of path parameters and body sites drawn from the seeded world
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)


@dataclass
class Served:
    url: str
    token: str
    session_id: int
    log: Path


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:  # not listening yet
            time.sleep(0.1)
    raise AssertionError(f"attendance serve did not come up at {url}")


@pytest.fixture
def served(db: str, engine, tmp_path: Path) -> Iterator[Served]:
    """The seeded database (SQLite, PostgreSQL) behind `attendance serve`; an admin's token."""
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "attendance", "serve", "--db", db, "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen([*command, "--host", "127.0.0.1"], stdout=output, stderr=output)
    try:
        _wait_until_up(url, process, 60)
        yield Served(url, tokens["admin"], sid, log)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def _known_world(served: Served) -> Path:
    """Half the site codes and session ids are real ones, so writes get past their 404s."""
    config = served.log.with_name("schemathesis.toml")
    config.write_text(
        f"""
[dictionaries.sites]
values = ["HN01", "DN01", "OFF01"]
[dictionaries.sessions]
values = [{served.session_id}]
[parameters]
"path.code" = {{ dictionary = "sites", probability = {KNOWN_SHARE} }}
"body.site" = {{ dictionary = "sites", probability = {KNOWN_SHARE} }}
"path.id" = {{ dictionary = "sessions", probability = {KNOWN_SHARE} }}
"""
    )
    return config


def test_every_operation_answers_as_documented(served: Served):
    """Schemathesis's own command (schemathesis is in the dev group), as a developer runs it."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        f"--config-file={_known_world(served)}",
        "run",
        f"{served.url}/api/openapi.json",
        f"--header=Authorization: Bearer {served.token}",
        f"--checks={','.join(CHECKS)}",
        "--phases=coverage,fuzzing",  # the document has no examples, nor links to follow
        "--mode=all",
        f"--max-examples={EXAMPLES}",
        "--generation-deterministic",
        "--workers=1",
        "--no-color",
    ]
    fuzzed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert fuzzed.returncode == 0, fuzzed.stdout + fuzzed.stderr
    failures = [line for line in served.log.read_text().splitlines() if " ERROR attendance" in line]
    assert not failures, failures  # aiohttp's own log of malformed requests (400s) may stay
