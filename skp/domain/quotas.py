"""The hub's quotas as rules: a sender's send rate and a recipient's mailbox limit.

A **send rate** allows a sender at most ``limit`` accepted messages in any ``window`` (a
sliding window, not a fixed minute: there is no moment at which a sender may send twice its
limit). The window is also the burst: a sender may use its whole allowance at once. A
**mailbox limit** allows a recipient at most ``limit`` pending (queued or fetched) messages in
one module. A limit of 0 switches the quota off.

The caller counts (the mailbox, in the database, so that every hub process counts the same
messages) and passes what it found and ``now``; this module decides.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SendRate:
    """At most ``limit`` messages accepted from one sender in any ``window``; 0 = no limit."""

    limit: int
    window: dt.timedelta

    @property
    def on(self) -> bool:
        return self.limit > 0

    def since(self, now: dt.datetime) -> dt.datetime:
        """The start of the window that ends ``now``: messages received after it count."""
        return now - self.window

    def retry_after(self, now: dt.datetime, oldest: dt.datetime) -> int:
        """Whole seconds, at least 1, until the window has room again for a sender with
        ``limit`` or more messages in it: until ``oldest``, the earliest of its ``limit`` latest
        ones, has left it."""
        return max(1, math.ceil((oldest + self.window - now).total_seconds()))


@dataclass(frozen=True)
class MailboxLimit:
    """At most ``limit`` pending messages per recipient and module; 0 = no limit."""

    limit: int

    @property
    def on(self) -> bool:
        return self.limit > 0

    def full(self, pending: int) -> bool:
        """Whether a mailbox holding ``pending`` messages may not take another."""
        return self.on and pending >= self.limit
