"""The mailbox: send, list, fetch, confirm, status, logbook and purge.

The only package that combines store, sealing and domain. What a call changes, it changes in
one transaction or one statement. The caller's participant id comes from its certificate (the
SOAP layer), never from a message. Logs carry metadata only: ids, module, type, counts.

:class:`Mailbox` is the one service callers use; its parts live in modules of their own:

- :mod:`~skp.mailbox.types`: what it answers (Receipt, MessageInfo, Delivery, Page, LogQuery,
  PurgeResult);
- :mod:`~skp.mailbox.statements`: its SQL, built once, and the small reads;
- :mod:`~skp.mailbox.content`: how content is sealed to its metadata;
- :mod:`~skp.mailbox.sending`: send, and the claim contexts of Saldoverzoeken;
- :mod:`~skp.mailbox.delivery`: list, fetch, fetch_next, confirm, and fetch and confirm of many;
- :mod:`~skp.mailbox.queries`: Status and Logboek;
- :mod:`~skp.mailbox.overview`: an operator's view of all messages and the backlog;
- :mod:`~skp.mailbox.purge`: purge and key re-wrap.
"""

from __future__ import annotations

from skp.mailbox.delivery import Delivering
from skp.mailbox.overview import Overview
from skp.mailbox.purge import Retention
from skp.mailbox.queries import Queries
from skp.mailbox.sending import Sending
from skp.mailbox.types import (
    MAX_PAGE,
    PENDING,
    Backlog,
    Confirmation,
    Delivery,
    LogQuery,
    MessageFilter,
    MessageInfo,
    Outgoing,
    Page,
    PurgeResult,
    Receipt,
)

__all__ = ["MAX_PAGE", "PENDING", "Backlog", "Confirmation", "Delivery", "LogQuery", "Mailbox",
           "MessageFilter", "MessageInfo", "Outgoing", "Page", "PurgeResult", "Receipt"]


class Mailbox(Sending, Delivering, Queries, Overview, Retention):
    """The mailbox service over a database, a key ring and a clock (skp.mailbox.base)."""
