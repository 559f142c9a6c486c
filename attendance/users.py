"""People who use the service, their roles, and how they prove who they are.

Roles: `admin` (everything), `organizer` (reads everything, records headcounts and corrections),
`operator` (reads and records headcounts for the sites of its scope only) and `auditor` (reads
everything, writes nothing). Passwords are stored as argon2 hashes; browser logins and API
tokens as SHA-256 of random tokens, so a database dump lets nobody in.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance.errors import BadInput, RecordNotFound
from attendance.store import audit_log
from attendance.store.models import ApiToken, LoginSession, Region, Role, Site, User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8
WRITERS = {Role.ADMIN, Role.ORGANIZER, Role.OPERATOR}
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is asking, and which sites they may see (None: all of them)."""

    user_id: int
    username: str
    role: str
    site_ids: frozenset[int] | None
    csrf_token: str | None = None  # set for browser logins; API tokens need none

    def can_read(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def can_record(self, site_id: int) -> bool:
        """Headcounts: anyone but auditors, operators only at their own sites."""
        return self.role in WRITERS and self.can_read(site_id)

    @property
    def can_correct(self) -> bool:
        return self.role in (Role.ADMIN, Role.ORGANIZER)

    @property
    def can_verify(self) -> bool:
        """A full audit verification reads every sample ever stored: not for every reader."""
        return self.role in (Role.ADMIN, Role.AUDITOR)


def add_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    full_name: str | None = None,
    sites: list[str] = (),
    regions: list[str] = (),
) -> User:
    if not USERNAME.match(username):
        raise BadInput(f"user name {username!r}: use 2–64 lower-case letters, digits, . _ -")
    if role not in set(Role):
        raise BadInput(f"role {role!r}: expected one of {', '.join(Role)}")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise BadInput(f"user {username!r} already exists")
    scope = _scope(session, role, list(sites), list(regions))
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        scope=scope,
        password_hash=_hasher.hash(password),
    )
    session.add(user)
    session.flush()
    audit_log.record(
        session,
        "user.add",
        {"username": username, "role": role, "scope": scope},
        entity="user",
        entity_id=str(user.id),
    )
    return user


def _scope(session: Session, role: str, sites: list[str], regions: list[str]) -> dict | None:
    if role != Role.OPERATOR:
        if sites or regions:
            raise BadInput("only operators are scoped to sites or regions")
        return None
    if not sites and not regions:
        raise BadInput("an operator needs --site CODE or --region PATH (repeatable)")
    known = set(session.scalars(select(Site.code).where(Site.code.in_(sites))))
    if missing := sorted(set(sites) - known):
        raise BadInput(f"unknown site code(s): {', '.join(missing)}")
    paths = set(session.scalars(select(Region.path).where(Region.path.in_(regions))))
    if missing := sorted(set(regions) - paths):
        raise BadInput(f"unknown region(s): {', '.join(missing)}; see `attendance sites list`")
    return {"sites": sorted(sites), "regions": sorted(regions)}


def principal(session: Session, user: User, csrf_token: str | None = None) -> Principal:
    return Principal(user.id, user.username, user.role, _site_ids(session, user.scope), csrf_token)


def _site_ids(session: Session, scope: dict | None) -> frozenset[int] | None:
    if scope is None:
        return None
    ids = set(session.scalars(select(Site.id).where(Site.code.in_(scope.get("sites", [])))))
    for path in scope.get("regions", []):
        regions = select(Region.id).where(
            (Region.path == path) | Region.path.startswith(path + " › ")
        )
        ids |= set(
            session.scalars(
                select(Site.id).where(Site.region_id.in_(regions) | Site.province_id.in_(regions))
            )
        )
    return frozenset(ids)


def login(session: Session, username: str, password: str, ttl: timedelta, now: datetime):
    """A new login session: (cookie token, CSRF token), or BadInput for a wrong name/password."""
    user = session.scalar(select(User).where(User.username == username, User.active))
    if not _password_ok(user, password):
        raise BadInput("wrong user name or password")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user_id=user.id,
            token_sha256=_sha256(token),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token, csrf


def _password_ok(user: User | None, password: str) -> bool:
    """Hashes even when there is no such user (or no password): an unknown name must take as
    long to refuse as a wrong password, or the time of a reply tells which names exist."""
    known = user is not None and bool(user.password_hash)
    stored = user.password_hash if known else _dummy_hash(_hasher)
    try:
        return _hasher.verify(stored, password) and known
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random password at `hasher`'s cost, which nobody can match."""
    return hasher.hash(secrets.token_urlsafe(32))


def from_login(session: Session, token: str, now: datetime) -> Principal | None:
    found = session.execute(
        select(User, LoginSession.csrf_token)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_sha256 == _sha256(token), LoginSession.expires_at > now, User.active
        )
    ).first()
    return None if found is None else principal(session, found[0], found[1])


def open_logins(session: Session, tokens: Collection[str], now: datetime) -> set[str]:
    """Of these login cookie tokens, those still signed in (not signed out, not expired, the
    user still active): what a long-lived connection checks again while it stays open."""
    by_hash = {_sha256(token): token for token in tokens}
    still = session.scalars(
        select(LoginSession.token_sha256)
        .join(User, LoginSession.user_id == User.id)
        .where(LoginSession.token_sha256.in_(by_hash), LoginSession.expires_at > now, User.active)
    )
    return {by_hash[hashed] for hashed in still}


def logout(session: Session, token: str) -> None:
    login_session = session.scalar(
        select(LoginSession).where(LoginSession.token_sha256 == _sha256(token))
    )
    if login_session is not None:
        session.delete(login_session)


def create_token(session: Session, username: str, label: str | None, now: datetime) -> str:
    """A new API token for `username`; shown once, only its hash is kept."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise RecordNotFound(f"no user {username!r}; see `attendance users list`")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=_sha256(token), label=label, created_at=now))
    audit_log.record(
        session,
        "user.token",
        {"username": username, "label": label},
        entity="user",
        entity_id=str(user.id),
    )
    return token


def from_token(session: Session, token: str, now: datetime) -> Principal | None:
    found = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == _sha256(token), ApiToken.revoked_at.is_(None), User.active)
    ).first()
    if found is None:
        return None
    found[1].last_used_at = now
    return principal(session, found[0])


def list_users(session: Session) -> list[dict]:
    users = session.scalars(select(User).order_by(User.username))
    return [
        {
            "username": u.username,
            "full_name": u.full_name,
            "role": u.role,
            "scope": u.scope,
            "active": u.active,
        }
        for u in users
    ]


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
