"""The portal's HTTP security headers, set in one place for every answer.

No page runs inline script or style, so the content security policy allows the portal's own
files only; forms may post to the portal and, for logging out at the broker, to the broker.
Every page may show an organisation's data, so none is cached anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Response


def content_security_policy(broker: str | None) -> str:
    """The CSP: the portal's own scripts, styles and images; no framing, no plugins."""
    forms = "'self'"
    if broker:
        parts = urlsplit(broker)
        forms += f" {parts.scheme}://{parts.netloc}"
    return "; ".join((
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
        "font-src 'self'", "connect-src 'self'", f"form-action {forms}",
        "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"))


def secure(response: Response, policy: str) -> Response:
    """Add the security headers to ``response``."""
    headers = response.headers
    headers["Content-Security-Policy"] = policy
    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not response.headers.get("Cache-Control", "").startswith("public"):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def attachment(content: bytes | Iterable[bytes], filename: str, mimetype: str) -> Response:
    """A file the browser saves instead of showing (a document, a CSV file), never cached;
    ``content`` may be streamed in chunks. ``filename`` is the portal's own (ids, codes)."""
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})
