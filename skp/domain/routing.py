"""Routing rules: may these two exchange messages at all, may this sender send this type to
this recipient, and is a reply valid.

Pure: the mailbox looks the parties and the original message up and passes them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from skp.domain.catalogue import MessageType
from skp.domain.roles import Module, Role
from skp.errors import InvalidReply, ModuleNotEnabled, NotAllowed, UnknownRecipient


@dataclass(frozen=True)
class Party:
    """What routing needs to know of a participant."""

    id: str
    role: Role
    modules: frozenset[Module]
    uses_bsn: bool = False
    #: Active (skp.domain.admission.Standing.ACTIVE): reachable by, and reaching, everyone.
    active: bool = True
    #: One of the hub's built-in test partners (skp.partner).
    test_partner: bool = False


def may_reach(sender: Party, recipient: Party) -> bool:
    """Whether ``sender`` and ``recipient`` may exchange messages at all: a participant that
    is not active yet (registered, in acceptance, accepted) exchanges messages only with the
    test partners, which everyone may test with; active participants with each other."""
    if sender.test_partner or recipient.test_partner:
        return True
    return sender.active and recipient.active


def check_reach(sender: Party, recipient: Party) -> None:
    """Raise unless ``sender`` may send to ``recipient`` at all (:func:`may_reach`).

    To its sender a recipient that is not active yet looks like one that does not exist
    (UnknownRecipient, as for an unknown id); a sender that is not active yet is told it may
    only send to the test partners.
    """
    if may_reach(sender, recipient):
        return
    if not recipient.active:
        raise UnknownRecipient(f"no active participant {recipient.id}")
    raise NotAllowed("you are not active yet: until the hub's operator activates you, you "
                     "exchange messages only with the test partners")


@dataclass(frozen=True)
class Original:
    """What routing needs to know of the message a reply answers."""

    id: str
    module: Module
    type_code: str
    sender_id: str
    recipient_id: str
    conversation_id: str


def check_route(mt: MessageType, sender: Party, recipient: Party) -> None:
    """Raise unless ``sender`` may send ``mt`` to ``recipient``."""
    if mt.module not in sender.modules:
        raise ModuleNotEnabled(f"module {mt.module} is not enabled for you; ask the hub's "
                               "operator to switch it on")
    if sender.role not in mt.senders:
        raise NotAllowed(f"role {sender.role} may not send {mt.code}; it is sent by "
                         f"{_roles(mt.senders)}")
    if mt.module not in recipient.modules:
        raise ModuleNotEnabled(f"recipient {recipient.id} does not take part in module "
                               f"{mt.module}")
    if recipient.role not in mt.recipients:
        raise NotAllowed(f"{mt.code} cannot go to recipient {recipient.id} (role "
                         f"{recipient.role}); it goes to {_roles(mt.recipients)}")
    if mt.recipient_uses_bsn is not None and mt.recipient_uses_bsn != recipient.uses_bsn:
        other = "KennisgevingPubliek" if recipient.uses_bsn else "Kennisgeving"
        raise NotAllowed(f"recipient {recipient.id} "
                         f"{'uses' if recipient.uses_bsn else 'does not use'} the BSN: "
                         f"send {other} instead of {mt.code}")


def check_reply(
    mt: MessageType,
    *,
    sender_id: str,
    recipient_id: str,
    conversation_id: str,
    cross_reference: str | None,
    original: Original | None,
) -> None:
    """Raise :class:`InvalidReply` unless the message's cross-reference fits its type.

    ``original`` is the message ``cross_reference`` names, or None when there is none. A
    message that was not sent to ``sender_id`` counts as none: its existence is not revealed.
    """
    if cross_reference is None:
        if mt.is_reply and not mt.reply_optional:
            raise InvalidReply(f"{mt.code} answers {_codes(mt.answers)}: set "
                               "CrossReferentienummer to the hub id of the message it answers")
        return
    if not mt.is_reply:
        raise InvalidReply(f"{mt.code} is not a reply: leave CrossReferentienummer empty")
    if original is None or original.recipient_id != sender_id:
        raise InvalidReply(f"CrossReferentienummer {cross_reference} is not a message sent to "
                           "you")
    if original.module != mt.module or original.type_code not in mt.answers:
        raise InvalidReply(f"{mt.code} cannot answer a {original.type_code} of module "
                           f"{original.module}; it answers {_codes(mt.answers)}")
    if original.conversation_id != conversation_id:
        raise InvalidReply(f"a reply stays in the conversation of {cross_reference}: set "
                           f"ConversatieReferentienummer to {original.conversation_id}")
    if original.sender_id != recipient_id:
        raise InvalidReply(f"a reply goes back to the sender of {cross_reference}: set "
                           f"Ontvanger to {original.sender_id}")


def _roles(roles: frozenset[Role]) -> str:
    return ", ".join(sorted(roles))


def _codes(codes: frozenset[str]) -> str:
    return " or ".join(sorted(codes))
