"""Server-side sessions in the database, shared by every portal process.

The cookie (``__Host-skp-portal``: Secure, HttpOnly, SameSite=Lax, path /) holds only a random
token; the database keys the session by the token's SHA-256, so a copy of the table opens no
session. A session ends after 15 minutes without a request or 8 hours after it began, whatever
happens in between; logging in starts a new one (a new token: no session fixation).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import CallbackDict

from skp.clock import Clock
from skp.store.organisation import PortalSession
from skp.store.session import transaction

COOKIE = "__Host-skp-portal"
IDLE = dt.timedelta(minutes=15)
ABSOLUTE = dt.timedelta(hours=8)


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """A session's values; ``token`` is None until it is first stored."""

    def __init__(self, values: dict[str, Any] | None = None, token: str | None = None,
                 created_at: dt.datetime | None = None) -> None:
        def changed(_: Any) -> None:
            self.modified = True

        super().__init__(values or {}, changed)
        self.token = token
        self.created_at = created_at
        self.modified = False
        self.renew = False

    def regenerate(self) -> None:
        """Give the session a new token when it is next stored (at login)."""
        self.renew = True
        self.modified = True


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DatabaseSessions(SessionInterface):
    """Flask's session interface over the ``portal_session`` table."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(COOKIE)
        if not token:
            return ServerSession()
        now = self._clock.now()
        with transaction(self._sessions) as session:
            row = session.get(PortalSession, _key(token))
            if row is None:
                return ServerSession()
            if now - row.seen_at > IDLE or now - row.created_at > ABSOLUTE:
                session.delete(row)
                return ServerSession()
            return ServerSession(json.loads(row.data), token, row.created_at)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)  # noqa: S101 - this interface made it
        now = self._clock.now()
        with transaction(self._sessions) as db:
            if session.token is not None and (session.renew or not session):
                db.execute(delete(PortalSession).where(PortalSession.key == _key(session.token)))
                if not session:
                    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True,
                                           samesite="Lax")
                    return
                session.token = None
            if not session:
                return
            if session.token is None:
                session.token, session.created_at = secrets.token_urlsafe(32), now
                db.add(PortalSession(key=_key(session.token), data=json.dumps(dict(session)),
                                     created_at=now, seen_at=now))
            else:
                row = db.get(PortalSession, _key(session.token))
                if row is None:  # ended meanwhile (logout elsewhere, expiry): start afresh
                    return
                row.seen_at = now
                if session.modified:
                    row.data = json.dumps(dict(session))
        response.set_cookie(COOKIE, session.token, path="/", secure=True, httponly=True,
                            samesite="Lax")
        response.vary.add("Cookie")


def end_stale(sessions: sessionmaker[Session], now: dt.datetime) -> int:
    """Delete the sessions that have ended by ``now`` (idle or too old); their count. The purge
    job runs it, so that no ended session stays in the table until it is next opened."""
    with transaction(sessions) as db:
        result = db.execute(delete(PortalSession).where(
            (PortalSession.seen_at < now - IDLE) | (PortalSession.created_at < now - ABSOLUTE)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
