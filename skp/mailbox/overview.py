"""What an operator asks about the traffic of all participants (`skp messages`, `skp backlog`):
metadata only, never content."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from skp.errors import NotFound
from skp.mailbox import statements
from skp.mailbox.base import MailboxBase
from skp.mailbox.types import Backlog, MessageFilter, MessageInfo
from skp.store.models import Message, Participant
from skp.store.session import statements as connected
from skp.store.types import canonical_id


class Overview(MailboxBase):
    """Messages of any participant, and the backlog per recipient."""

    def messages(self, query: MessageFilter) -> list[MessageInfo]:
        """Metadata of the messages that match, newest first."""
        conditions = []
        if query.participant_id is not None:
            key = canonical_id(query.participant_id)
            conditions.append(or_(Message.sender_id == key, Message.recipient_id == key))
        if query.type_code is not None:
            conditions.append(Message.type_code == query.type_code)
        if query.state is not None:
            conditions.append(Message.state == query.state)
        statement = statements.newest_first(conditions, query.since, query.until, query.limit)
        with connected(self._sessions) as connection:
            return [MessageInfo.of(row) for row in connection.execute(statement)]

    def message(self, message_id: str) -> MessageInfo:
        """The metadata of one message, whoever sent it."""
        with connected(self._sessions) as connection:
            row = statements.metadata(connection, message_id)
        if row is None:
            raise NotFound(f"no message {message_id}")
        return MessageInfo.of(row)

    def backlog(self) -> list[Backlog]:
        """Per recipient with messages queued or fetched but not confirmed: how many, since
        when; the longest waiting first."""
        statement = (select(Message.recipient_id, Participant.name, func.count(),
                            func.min(Message.received_at))
                     .join(Participant, Participant.id == Message.recipient_id)
                     .where(statements.IS_PENDING)
                     .group_by(Message.recipient_id, Participant.name)
                     .order_by(func.min(Message.received_at)))
        with connected(self._sessions) as connection:
            return [Backlog(str(recipient), name, pending, oldest)
                    for recipient, name, pending, oldest in connection.execute(statement)]
