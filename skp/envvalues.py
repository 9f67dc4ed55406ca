"""Settings read from the environment, one variable at a time: a reader that turns a bad value
into one line naming the variable and what to set it to, and the parsers of each kind of
value. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from skp.errors import ConfigError

T = TypeVar("T")


class Getter(Protocol):
    """Reads one variable: its parser, its default and a hint of what to set it to."""

    def __call__(self, name: str, parse: Callable[[str], T], default: T, hint: str) -> T: ...


def getter(env: Mapping[str, str]) -> Getter:
    """The reader of the variables in ``env``: unset or blank is the default."""

    def get(name: str, parse: Callable[[str], T], default: T, hint: str) -> T:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{name}={raw!r} is invalid: {exc}. Set it to {hint}.") from exc

    return get


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def window(raw: str) -> dt.timedelta:
    value = seconds(raw)
    if value > dt.timedelta(hours=1):
        raise ValueError("must be at most 3600")
    return value


def seconds(raw: str) -> dt.timedelta:
    return dt.timedelta(seconds=positive_int(raw))


def days(raw: str) -> dt.timedelta:
    return dt.timedelta(days=positive_int(raw))


def dates(raw: str) -> tuple[dt.date, ...]:
    return tuple(sorted(dt.date.fromisoformat(part.strip()) for part in raw.split(",")))


def port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be from 1 to 65535")
    return value


def https_url(raw: str) -> str:
    if not raw.startswith("https://"):
        raise ValueError("must start with https://")
    return raw.rstrip("/")


def addresses(raw: str) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_address(part.strip())) for part in raw.split(","))


def address(raw: str) -> str:
    name, address = email.utils.parseaddr(raw)
    if "@" not in address or any(c in raw for c in "\r\n"):
        raise ValueError("is no e-mail address")
    return email.utils.formataddr((name, address)) if name else address


def boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def networks(raw: str) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_network(part.strip())) for part in raw.split(","))


def database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:", "postgresql")):
        raise ValueError("only SQLite and PostgreSQL are supported")
    return raw
