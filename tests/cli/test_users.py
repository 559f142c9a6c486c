"""`attendance users add|list|token`: roles, operator scopes, bad input, tokens that work."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from attendance.store.db import transaction
from attendance.users import from_token
from tests.helpers import site, write_sites


def _add(cli, monkeypatch, db, *args, password="long enough secret"):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return cli("users", "add", *args, "--password-stdin", "--db", db)


def test_users_roles_scopes_and_tokens(cli, db, engine, monkeypatch, tmp_path):
    cli("sites", "import", write_sites(tmp_path / "s.csv", [site("A1"), site("B1")]), "--db", db)
    assert _add(cli, monkeypatch, db, "lan", "--role", "organizer").code == 0
    assert _add(cli, monkeypatch, db, "op", "--role", "operator", "--site", "A1").code == 0
    listed = {u["username"]: u for u in json.loads(cli("users", "list", "--json", "--db", db).out)}
    assert listed["lan"]["role"] == "organizer" and listed["op"]["scope"]["sites"] == ["A1"]

    token = cli("users", "token", "op", "--label", "script", "--db", db).out.strip()
    with transaction(engine) as session:
        principal = from_token(session, token, datetime.now(UTC))
        assert principal.username == "op" and len(principal.site_ids) == 1
        assert from_token(session, token + "x", datetime.now(UTC)) is None

    refused = {
        ("x", "--role", "organizer"): "user name 'x'",
        ("lan", "--role", "organizer"): "already exists",
        ("op2", "--role", "operator"): "needs --site CODE or --region PATH",
        ("op3", "--role", "operator", "--site", "ZZ"): "unknown site code(s): ZZ",
        ("aud", "--role", "auditor", "--site", "A1"): "only operators are scoped",
    }
    for args, message in refused.items():
        result = _add(cli, monkeypatch, db, *args)
        assert result.code == 2 and message in result.err, (args, result.err)
    short = _add(cli, monkeypatch, db, "bao", "--role", "admin", password="short")
    assert short.code == 2 and "at least 8 characters" in short.err
    missing = cli("users", "token", "nobody", "--db", db)
    assert missing.code == 1 and "no user 'nobody'" in missing.err
