"""What participants ask about their traffic: the sender's Status of a message and the
Logboek over their own sent and received messages. Metadata only."""

from __future__ import annotations

from sqlalchemy import and_, or_

from skp.errors import NotFound, SchemaInvalid
from skp.mailbox import statements
from skp.mailbox.base import MailboxBase
from skp.mailbox.types import LogQuery, MessageInfo
from skp.store.models import Message
from skp.store.session import statements as connected


class Queries(MailboxBase):
    """Status and Logboek."""

    def status(self, sender_id: str, *, message_id: str | None = None,
               kenmerk: str | None = None) -> MessageInfo:
        """The sender's view of one of its messages, by hub id or by its own Kenmerk."""
        with connected(self._sessions) as connection:
            if message_id is not None:
                message = statements.metadata(connection, message_id)
            elif kenmerk is not None:
                message = statements.by_kenmerk(connection, sender_id, kenmerk)
            else:
                raise SchemaInvalid("give a berichtId or a Kenmerk")
        if message is None or message.sender_id != sender_id:
            raise NotFound(f"you sent no message {message_id or kenmerk}")
        return MessageInfo.of(message).at(self._clock.now())

    def logbook(self, participant_id: str, query: LogQuery) -> list[MessageInfo]:
        """Metadata of the participant's own sent and received messages, newest first."""
        sent, received = Message.sender_id == participant_id, (
            Message.recipient_id == participant_id)
        mine = {"sent": sent, "received": received, None: or_(sent, received)}[query.direction]
        conditions = [mine]
        if query.counterpart_id is not None:
            conditions.append(or_(and_(sent, Message.recipient_id == query.counterpart_id),
                                  and_(received, Message.sender_id == query.counterpart_id)))
        for column, value in ((Message.module, query.module),
                              (Message.type_code, query.type_code),
                              (Message.conversation_id, query.conversation_id)):
            if value is not None:
                conditions.append(column == value)
        statement = statements.newest_first(conditions, query.since, query.until, query.limit)
        now = self._clock.now()
        with connected(self._sessions) as connection:
            return [MessageInfo.of(row).at(now) for row in connection.execute(statement)]
