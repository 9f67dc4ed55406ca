"""One spyne Application per module, generated from the catalogue.

Operations (SOAP 1.1 document/literal, wrapped): ``Verstuur<Berichttype>`` per message type,
``Berichtenlijst``, ``HaalBerichtOp``, ``BevestigOntvangst``, ``Status``, ``Logboek`` and
``Ping``. The caller is the participant the server identified from the client certificate
(``environ["skp.participant"]``); nothing in a message body can change who is calling.

The server has read the request already (``environ["skp.envelope"]``, with its documents in
``environ["skp.spool"]``: skp.xmlsafe.read); an answer's documents are written into it as it
is sent (``environ["skp.answer"]``: skp.soap.answer).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any

import spyne
from lxml import etree
from spyne import Application, Fault, Integer32, ServiceBase, Unicode, const, rpc
from spyne.protocol.soap import Soap11

from skp.domain.catalogue import MessageType, lookup, message_types
from skp.domain.roles import Module
from skp.domain.validation import Header
from skp.errors import (
    ModuleNotEnabled,
    MustUnderstand,
    SchemaInvalid,
    SkpError,
    UnknownOperation,
)
from skp.hub import Hub
from skp.mailbox import MAX_PAGE, LogQuery, MessageInfo
from skp.participants import ParticipantInfo
from skp.soap.answer import Answer
from skp.soap.convert import from_body, to_body
from skp.soap.faults import SOAP_ENV as SOAP11_ENV
from skp.soap.faults import SkpFault, UnexpectedFault
from skp.soap.types import MAILBOX_OPERATIONS, ModuleTypes, namespace, optional, required

# spyne runs a full gc.collect() after a request at most once a second, to close the files of
# its file uploads (skp has none). It walks every object of the process for 60-100 ms holding
# the GIL, where every request in flight waits: most of the p99 (docs/performance.md).
const.MIN_GC_INTERVAL = float("inf")

#: lxml schema-error kinds, described without the offending value.
_REASONS = (
    ("MAXLENGTH", "is too long"), ("MINLENGTH", "is too short"),
    ("PATTERN", "does not have the required format"),
    ("ENUMERATION", "is not one of the allowed values"),
    ("MININCLUSIVE", "is below the minimum"), ("MAXINCLUSIVE", "is above the maximum"),
    ("FRACTIONDIGITS", "has too many decimals"), ("TOTALDIGITS", "has too many digits"),
    ("ELEMENT_CONTENT", "has a missing or unexpected child element"),
    ("DATATYPE", "has a value of the wrong type"),
)


class HubSoap11(Soap11):  # type: ignore[misc]  # spyne has no type information
    """SOAP 1.1 input with skp's XML parse policy and value-free schema errors."""

    def __init__(self) -> None:
        super().__init__(validator="lxml")
        self.validate_document = self._validate

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        if ctx.transport.get_request_method() != "POST":
            raise SkpFault(SchemaInvalid("send a SOAP request with POST"))
        root = ctx.transport.req_env["skp.envelope"]
        try:
            operation = _operation(root)
        except SkpError as exc:
            raise SkpFault(exc) from exc
        if operation.tag not in self.app.interface.service_method_map:
            raise SkpFault(UnknownOperation(_unknown(self.app.tns, operation)))
        ctx.in_document = (root, {})

    def _validate(self, payload: Any) -> None:
        schema = self.validation_schema
        if not schema.validate(payload):
            raise SkpFault(SchemaInvalid(_describe(schema.error_log.last_error, payload)))


_HEADER, _BODY = f"{{{SOAP11_ENV}}}Header", f"{{{SOAP11_ENV}}}Body"
_MUST_UNDERSTAND, _ACTOR = f"{{{SOAP11_ENV}}}mustUnderstand", f"{{{SOAP11_ENV}}}actor"
#: The actor every SOAP node is (SOAP 1.1 section 4.2.2), as is a block without an actor.
_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"


def _operation(root: etree._Element) -> etree._Element:
    """The operation element of a SOAP 1.1 envelope: an optional Header, then one Body and
    nothing after it (WS-I BP 1.1 R1011), the Body holding exactly one element. The hub
    understands no header block, so one that must be understood is a MustUnderstand fault."""
    tags = [child.tag for child in root] if root.tag == f"{{{SOAP11_ENV}}}Envelope" else []
    if tags not in ([_BODY], [_HEADER, _BODY]) or len(root[-1]) != 1:
        raise SchemaInvalid("send a SOAP 1.1 Envelope with an optional Header and then one Body "
                            "holding exactly one operation")
    for block in root[0] if tags[0] == _HEADER else ():
        if (block.get(_MUST_UNDERSTAND, "").strip() in ("1", "true")
                and block.get(_ACTOR, _NEXT).strip() == _NEXT):
            raise MustUnderstand("the hub understands no SOAP header block: leave out the "
                                 "ones marked mustUnderstand")
    operation: etree._Element = root[-1][0]
    return operation


_MODULES = {namespace(module): module for module in Module}


def _unknown(tns: str, element: etree._Element) -> str:
    """What to do about an operation element the service does not have (never its name: the
    caller wrote it)."""
    service, other = _MODULES[tns], _MODULES.get(etree.QName(element).namespace or "")
    if other is not None and other != service:
        return (f"the operation is one of the {other} service; send it to /{other}, not to "
                f"/{service}")
    return f"the {service} service has no such operation; see its WSDL"


def _describe(entry: Any, payload: etree._Element) -> str:
    path = "/".join(_local_names(payload, str(entry.path)))
    reason = next((text for key, text in _REASONS if key in entry.type_name),
                  "does not match the XML schema")
    return f"element {path or 'Body'} {reason}; see the WSDL"


#: A step of libxml2's path of a node: ``prefix:name[n]``, ``name[n]`` or, for an element in a
#: default namespace, which a path cannot name, ``*[n]``; ``[n]`` counts the siblings alike.
_STEP = re.compile(r"(?:(?P<prefix>[^:\[]+):)?(?P<name>[^\[]+)(?:\[(?P<index>[0-9]+)\])?")


def _local_names(payload: etree._Element, path: str) -> list[str]:
    """The local names of the elements on libxml2's ``path`` (from ``payload``, the operation
    element), whatever prefixes the client chose: each step is followed in the tree."""
    names: list[str] = []
    node: etree._Element | None = None
    for step in filter(None, path.split("/")):
        found = _STEP.fullmatch(step)
        if found is None:  # an attribute or text step: the element is named already
            break
        prefix, name, index = found["prefix"], found["name"], int(found["index"] or 1)
        alike = [payload] if node is None else [
            child for child in node if isinstance(child.tag, str) and (
                name == "*" or (etree.QName(child).localname == name
                                and child.prefix == prefix))]
        if index > len(alike):
            break
        node = alike[index - 1]
        names.append(etree.QName(node).localname)
    return names


class HubApplication(Application):  # type: ignore[misc]  # spyne has no type information
    """A spyne Application whose operations may raise SkpError like any skp code."""

    def call_wrapper(self, ctx: Any) -> Any:
        try:
            return super().call_wrapper(ctx)
        except Fault:
            raise
        except SkpError as exc:
            raise SkpFault(exc) from exc
        except Exception as exc:
            raise UnexpectedFault(exc) from exc


def _instant(value: dt.datetime | None, name: str) -> dt.datetime | None:
    """A filter's time in UTC; one without an offset is in UTC. One that is not in the years
    1-9999 in UTC (0001-01-01T00:00:00+01:00) is in no calendar a database holds."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=value.tzinfo or dt.UTC).astimezone(dt.UTC)
    except OverflowError as exc:
        raise SchemaInvalid(f"element Logboek/Filter/{name} is not in the years 1 to 9999 "
                            "in UTC; send a time between those") from exc


def _hub(ctx: Any) -> Hub:
    hub: Hub = ctx.transport.req_env["skp.hub"]
    return hub


def _caller(ctx: Any, module: Module | None) -> ParticipantInfo:
    caller: ParticipantInfo = ctx.transport.req_env["skp.participant"]
    if module is not None and module not in caller.modules:
        raise ModuleNotEnabled(f"module {module} is not enabled for you; ask the hub's "
                               "operator to switch it on")
    return caller


def _note(ctx: Any, message_id: str) -> None:
    """Tell the request log which hub message this request was about."""
    ctx.transport.req_env["skp.message_id"] = message_id


def build_application(module: Module) -> Application:
    """The spyne Application of ``module``; requests find the hub in ``environ["skp.hub"]``."""
    types = ModuleTypes(module)
    ops: dict[str, Any] = {f"Verstuur{mt.code}": _send_op(types, mt)
                           for mt in message_types(module)}
    mailbox = _mailbox_ops(types)
    if tuple(mailbox) != MAILBOX_OPERATIONS:  # their names are kept free of other types
        raise AssertionError(f"the mailbox operations are {tuple(mailbox)}")
    ops.update(mailbox)
    title = "".join(part.capitalize() for part in module.value.split("-"))
    service = type(f"{title}Service", (ServiceBase,), ops)
    return HubApplication([service], tns=types.ns, name=title, in_protocol=HubSoap11(),
                       out_protocol=Soap11())


def _send_op(types: ModuleTypes, mt: MessageType) -> Callable[..., Any]:
    def send(ctx: Any, Header_: Any, Bericht: Any) -> Any:  # parameters are element names
        caller = _caller(ctx, mt.module)
        header = Header(kenmerk=Header_.Kenmerk, ontvanger=Header_.Ontvanger,
                        conversatie_referentienummer=Header_.ConversatieReferentienummer,
                        cross_referentienummer=Header_.CrossReferentienummer,
                        versie=Header_.Versie)
        spool = ctx.transport.req_env["skp.spool"]
        receipt = _hub(ctx).mailbox.send(caller.id, mt.module, mt.code, header,
                                         to_body(mt.fields, Bericht, spool), spool)
        _note(ctx, receipt.message_id)
        return types.receipt(BerichtId=receipt.message_id, OntvangenOp=receipt.received_at,
                             UiterlijkOphalenOp=receipt.deadline, Herhaald=receipt.repeated)

    send.__name__ = f"Verstuur{mt.code}"  # spyne keys methods by function name
    operation: Callable[..., Any] = rpc(
        required(types.header), required(types.bodies[mt.code]), _faults=[types.fault],
        _returns=types.receipt, _out_variable_name="Ontvangstbewijs",
        _in_variable_names={"Header_": "Header"})(send)
    return operation


def _mailbox_ops(types: ModuleTypes) -> dict[str, Any]:
    module = types.module
    rpc = functools.partial(spyne.rpc, _faults=[types.fault])  # every operation declares it

    def metadata(info: MessageInfo) -> Any:
        return types.metadata(
            BerichtId=info.id, Berichttype=info.type_code, Afzender=info.sender_id,
            Ontvanger=info.recipient_id, Kenmerk=info.kenmerk,
            ConversatieReferentienummer=info.conversation_id,
            CrossReferentienummer=info.cross_reference_id, Versie=info.version,
            Status=info.state.value, Grootte=info.size, OntvangenOp=info.received_at,
            UiterlijkOphalenOp=info.deadline, OpgehaaldOp=info.fetched_at,
            BevestigdOp=info.confirmed_at, VerlopenOp=info.expired_at)

    @rpc(optional(Unicode, max_len=64), optional(Unicode, max_len=64),
         optional(Integer32, ge=1, le=MAX_PAGE), _returns=types.listing,
         _out_variable_name="Berichtenlijst")
    def Berichtenlijst(ctx: Any, Berichttype: Any, Na: Any, Maximum: Any) -> Any:
        caller = _caller(ctx, module)
        page = _hub(ctx).mailbox.list_pending(caller.id, module, type_code=Berichttype,
                                    after=Na, limit=Maximum or 100)
        return types.listing(Bericht=[metadata(m) for m in page.items],
                             Achterstand=page.backlog, Volgende=page.next_after)

    @rpc(required(Unicode, max_len=64), _returns=types.fetched,
         _out_variable_name="OpgehaaldBericht")
    def HaalBerichtOp(ctx: Any, BerichtId: Any) -> Any:
        caller = _caller(ctx, module)
        _note(ctx, BerichtId)
        delivery = _hub(ctx).mailbox.fetch(caller.id, BerichtId)
        mt = lookup(module, delivery.info.type_code)
        answer = ctx.transport.req_env["skp.answer"] = Answer()
        body = from_body(types, types.bodies[mt.code], mt.fields, delivery.body, answer)
        return types.fetched(Metadata=metadata(delivery.info), **{mt.code: body})

    @rpc(required(Unicode, max_len=64), _returns=types.metadata,
         _out_variable_name="BerichtMetadata")
    def BevestigOntvangst(ctx: Any, BerichtId: Any) -> Any:
        caller = _caller(ctx, module)
        _note(ctx, BerichtId)
        return metadata(_hub(ctx).mailbox.confirm(caller.id, BerichtId))

    @rpc(optional(Unicode, max_len=64), optional(Unicode, max_len=64),
         _returns=types.metadata, _out_variable_name="BerichtMetadata")
    def Status(ctx: Any, BerichtId: Any, Kenmerk: Any) -> Any:
        caller = _caller(ctx, module)
        info = _hub(ctx).mailbox.status(caller.id, message_id=BerichtId, kenmerk=Kenmerk)
        if info.module != module:
            raise SchemaInvalid(f"message {info.id} belongs to module {info.module}; ask "
                                "its service")
        _note(ctx, info.id)
        return metadata(info)

    @rpc(optional(types.log_filter), _returns=types.log, _out_variable_name="Logboek")
    def Logboek(ctx: Any, Filter: Any) -> Any:
        caller = _caller(ctx, module)
        query = LogQuery(module=module)
        if Filter is not None:
            query = LogQuery(
                module=module, type_code=Filter.Berichttype,
                direction={"Verzonden": "sent", "Ontvangen": "received"}.get(
                    Filter.Richting or ""),  # type: ignore[arg-type]
                counterpart_id=Filter.Tegenpartij,
                conversation_id=Filter.ConversatieReferentienummer,
                since=_instant(Filter.Vanaf, "Vanaf"), until=_instant(Filter.Tot, "Tot"),
                limit=Filter.Maximum or 100)
        found = _hub(ctx).mailbox.logbook(caller.id, query)
        return types.log(Bericht=[metadata(m) for m in found])

    @rpc(optional(Unicode, max_len=200), _returns=types.ping, _out_variable_name="PingAntwoord")
    def Ping(ctx: Any, Tekst: Any) -> Any:
        caller = _caller(ctx, None)
        return types.ping(Tekst=Tekst, DeelnemerId=caller.id, Naam=caller.name,
                          Rol=caller.role.value, Module=sorted(caller.modules),
                          Tijd=_hub(ctx).clock.now())

    return {"Berichtenlijst": Berichtenlijst, "HaalBerichtOp": HaalBerichtOp,
            "BevestigOntvangst": BevestigOntvangst, "Status": Status, "Logboek": Logboek,
            "Ping": Ping}

