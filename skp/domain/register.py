"""What the participant register accepts: a participant's name and its KvK numbers.

- A **name** is 1 to 200 characters once surrounding spaces are removed, without control
  characters.
- A **KvK-nummer** is exactly 8 digits; a **vestigingsnummer** exactly 12 digits (the
  Handelsregister's formats, leading zeros included).

Each check returns the value as stored, or raises ValueError saying what the value must be.
Pure: no I/O.
"""

from __future__ import annotations

NAME_MAX = 200


def participant_name(raw: str) -> str:
    """The name, stripped; ValueError when it is empty, too long or holds control characters."""
    name = raw.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise ValueError(f"a participant's name is 1 to {NAME_MAX} characters")
    if any(not c.isprintable() for c in name):
        raise ValueError("a participant's name holds no control characters")
    return name


def kvk_nummer(raw: str) -> str:
    """A KvK-nummer: 8 digits."""
    return _digits(raw, 8, "a KvK-nummer")


def vestigingsnummer(raw: str) -> str:
    """A vestigingsnummer: 12 digits."""
    return _digits(raw, 12, "a vestigingsnummer")


def _digits(raw: str, length: int, what: str) -> str:
    value = raw.strip()
    if len(value) != length or not value.isascii() or not value.isdigit():
        raise ValueError(f"{what} is exactly {length} digits")
    return value
