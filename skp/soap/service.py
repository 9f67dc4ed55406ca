"""One spyne Application per module, generated from the catalogue.

Operations (SOAP 1.1 document/literal, wrapped): ``Verstuur<Berichttype>`` per message type,
``Berichtenlijst``, ``HaalBerichtOp``, ``BevestigOntvangst``, ``Status``, ``Logboek``, the
address book's ``ZoekDeelnemers`` and ``Deelnemer``, ``Ping``, and ``Acceptatiestatus`` (the
caller's lifecycle and latest acceptance run: skp.acceptance). The caller is the
participant the server identified from the client certificate (``environ["skp.participant"]``);
nothing in a message body can change who is calling.

The server has read the request already (``environ["skp.envelope"]``, with its documents in
``environ["skp.spool"]``: skp.xmlsafe.read); an answer's documents are written into it as it
is sent (``environ["skp.answer"]``: skp.soap.answer). The envelope's rules and schema faults
are skp.soap.protocol's; every operation declares the fault element ``Fout``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from spyne import Application, Fault, Integer32, ServiceBase, Unicode, const, rpc

from skp.acceptance import StepView, observer
from skp.addressbook import Entry, Search
from skp.domain.addressbook import MAX_ENTRIES
from skp.domain.admission import Standing
from skp.domain.catalogue import MessageType, lookup, message_types
from skp.domain.roles import Module, Role
from skp.domain.validation import Header
from skp.domain.verdicts import Outcome
from skp.errors import ModuleNotEnabled, RateLimited, SchemaInvalid, SkpError
from skp.hub import Hub
from skp.mailbox import MAX_PAGE, LogQuery, MessageInfo
from skp.participants import ParticipantInfo
from skp.soap.answer import Answer
from skp.soap.convert import from_body, to_body
from skp.soap.faults import SkpFault, UnexpectedFault
from skp.soap.output import HubOutSoap11
from skp.soap.protocol import HubSoap11
from skp.soap.types import (
    ADDRESSBOOK_OPERATIONS,
    MAILBOX_OPERATIONS,
    ModuleTypes,
    optional,
    required,
)

# spyne runs a full gc.collect() after a request at most once a second, to close the files of
# its file uploads (skp has none). It walks every object of the process for 60-100 ms holding
# the GIL, where every request in flight waits: most of the p99 (docs/performance.md).
const.MIN_GC_INTERVAL = float("inf")

#: The environ key of the seconds a refused sender is to wait (``Client.RateLimited``), sent
#: as the answer's ``Retry-After`` header too.
RETRY_AFTER = "skp.retry_after"


class HubApplication(Application):  # type: ignore[misc]  # spyne has no type information
    """A spyne Application whose operations may raise SkpError like any skp code."""

    def call_wrapper(self, ctx: Any) -> Any:
        try:
            return super().call_wrapper(ctx)
        except Fault:
            raise
        except SkpError as exc:
            if isinstance(exc, RateLimited):  # the HTTP answer says it too (skp.server.app)
                ctx.transport.req_env[RETRY_AFTER] = exc.retry_after
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
    environ = ctx.transport.req_env
    caller: ParticipantInfo = environ["skp.participant"]
    environ[observer.OPERATION] = ctx.descriptor.name
    if caller.standing is Standing.IN_ACCEPTANCE:  # may answer a fault on purpose
        _hub(ctx).acceptance.observer.intercept(caller.id, ctx.descriptor.name, environ)
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
    mailbox, book = _mailbox_ops(types), _addressbook_ops(types)
    if (tuple(mailbox), tuple(book)) != (MAILBOX_OPERATIONS, ADDRESSBOOK_OPERATIONS):
        raise AssertionError(  # their names are kept free of other types (skp.soap.types)
            f"the operations are {tuple(mailbox)} and {tuple(book)}")
    ops.update(mailbox)
    ops.update(book)
    title = "".join(part.capitalize() for part in module.value.split("-"))
    service = type(f"{title}Service", (ServiceBase,), ops)
    return HubApplication([service], tns=types.ns, name=title, in_protocol=HubSoap11(),
                       out_protocol=HubOutSoap11())


def _send_op(types: ModuleTypes, mt: MessageType) -> Callable[..., Any]:
    def send(ctx: Any, Header_: Any, Bericht: Any) -> Any:  # parameters are element names
        caller = _caller(ctx, mt.module)
        header = Header(kenmerk=Header_.Kenmerk, ontvanger=Header_.Ontvanger,
                        conversatie_referentienummer=Header_.ConversatieReferentienummer,
                        cross_referentienummer=Header_.CrossReferentienummer,
                        versie=Header_.Versie)
        environ = ctx.transport.req_env
        environ[observer.HEADER] = (header.cross_referentienummer,
                                    header.conversatie_referentienummer)
        spool = environ["skp.spool"]
        receipt = _hub(ctx).mailbox.send(caller.id, mt.module, mt.code, header,
                                         to_body(mt.fields, Bericht, spool), spool)
        _note(ctx, receipt.message_id)
        environ[observer.REPEATED] = receipt.repeated
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
    operation = functools.partial(rpc, _faults=[types.fault])  # every operation declares it

    def metadata(info: MessageInfo, kind: Any = types.metadata, **more: Any) -> Any:
        """``info`` as a ``kind`` (BerichtMetadata, or a type with its fields and ``more``)."""
        return kind(
            BerichtId=info.id, Berichttype=info.type_code, Afzender=info.sender_id,
            Ontvanger=info.recipient_id, Kenmerk=info.kenmerk,
            ConversatieReferentienummer=info.conversation_id,
            CrossReferentienummer=info.cross_reference_id, Versie=info.version,
            Status=info.state.value, Grootte=info.size, OntvangenOp=info.received_at,
            UiterlijkOphalenOp=info.deadline, OpgehaaldOp=info.fetched_at,
            BevestigdOp=info.confirmed_at, VerlopenOp=info.expired_at, **more)

    @operation(optional(Unicode, max_len=64), optional(Unicode, max_len=64),
         optional(Integer32, ge=1, le=MAX_PAGE), _returns=types.listing,
         _out_variable_name="Berichtenlijst")
    def Berichtenlijst(ctx: Any, Berichttype: Any, Na: Any, Maximum: Any) -> Any:
        caller = _caller(ctx, module)
        page = _hub(ctx).mailbox.list_pending(caller.id, module, type_code=Berichttype,
                                    after=Na, limit=Maximum or 100)
        return types.listing(Bericht=[metadata(m) for m in page.items],
                             Achterstand=page.backlog, Volgende=page.next_after)

    @operation(required(Unicode, max_len=64), _returns=types.fetched,
         _out_variable_name="OpgehaaldBericht")
    def HaalBerichtOp(ctx: Any, BerichtId: Any) -> Any:
        caller = _caller(ctx, module)
        _note(ctx, BerichtId)
        delivery = _hub(ctx).mailbox.fetch(caller.id, BerichtId)
        mt = lookup(module, delivery.info.type_code)
        answer = ctx.transport.req_env["skp.answer"] = Answer()
        body = from_body(types, types.bodies[mt.code], mt.fields, delivery.body, answer)
        return types.fetched(Metadata=metadata(delivery.info), **{mt.code: body})

    @operation(required(Unicode, max_len=64), _returns=types.confirmation,
         _out_variable_name="BerichtMetadata")
    def BevestigOntvangst(ctx: Any, BerichtId: Any) -> Any:
        caller = _caller(ctx, module)
        _note(ctx, BerichtId)
        confirmed = _hub(ctx).mailbox.confirm(caller.id, BerichtId)
        return metadata(confirmed, types.confirmation, Herhaald=confirmed.repeated)

    @operation(optional(Unicode, max_len=64), optional(Unicode, max_len=64),
         _returns=types.metadata, _out_variable_name="BerichtMetadata")
    def Status(ctx: Any, BerichtId: Any, Kenmerk: Any) -> Any:
        caller = _caller(ctx, module)
        info = _hub(ctx).mailbox.status(caller.id, message_id=BerichtId, kenmerk=Kenmerk)
        if info.module != module:
            raise SchemaInvalid(f"message {info.id} belongs to module {info.module}; ask "
                                "its service")
        _note(ctx, info.id)
        return metadata(info)

    @operation(optional(types.log_filter), _returns=types.log, _out_variable_name="Logboek")
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

    @operation(optional(Unicode, max_len=200), _returns=types.ping,
               _out_variable_name="PingAntwoord")
    def Ping(ctx: Any, Tekst: Any) -> Any:
        caller = _caller(ctx, None)
        return types.ping(Tekst=Tekst, DeelnemerId=caller.id, Naam=caller.name,
                          Rol=caller.role.value, Module=sorted(caller.modules),
                          Tijd=_hub(ctx).clock.now())

    @operation(_returns=types.acceptance, _out_variable_name="AcceptatieOverzicht")
    def Acceptatiestatus(ctx: Any) -> Any:
        caller = _caller(ctx, None)
        hub = _hub(ctx)
        standing = hub.participants.get(caller.id).standing  # as it is now, after the lookup
        run = hub.acceptance.runs.latest(caller.id)
        if run is None:
            return types.acceptance(Deelnemerstatus=standing.value)
        now = hub.clock.now()

        def step(s: StepView) -> Any:
            left = s.time_left(now)
            return types.acceptance_step(
                Routine=s.routine.value, Stap=s.key, Verwachting=s.expectation,
                Uitkomst=s.outcome.value,
                UiterlijkOp=s.deadline if s.outcome is Outcome.WAITING else None,
                ResterendeSeconden=None if left is None else int(left.total_seconds()),
                Bevinding=list(s.lines),
                Starten=[types.acceptance_start(Module=x.module.value, Berichttype=x.type_code,
                                                Ontvanger=x.partner_id)
                         for x in (s.starts if s.outcome is Outcome.WAITING else ())])

        awaited = run.awaited
        return types.acceptance(
            Deelnemerstatus=standing.value, RunId=run.id, Uitkomst=run.state.value,
            GestartOp=run.started_at, BeeindigdOp=run.finished_at,
            Verwacht=awaited.expectation if awaited else None,
            Routine=[types.acceptance_routine(Naam=r.value,
                                              Uitkomst=run.routine_outcome(r).value)
                     for r in run.routines],
            Stap=[step(s) for s in run.steps])

    return {"Berichtenlijst": Berichtenlijst, "HaalBerichtOp": HaalBerichtOp,
            "BevestigOntvangst": BevestigOntvangst, "Status": Status, "Logboek": Logboek,
            "Ping": Ping, "Acceptatiestatus": Acceptatiestatus}



def _addressbook_ops(types: ModuleTypes) -> dict[str, Any]:
    module = types.module
    operation = functools.partial(rpc, _faults=[types.fault])

    def entry(found: Entry) -> Any:
        return types.entry(
            DeelnemerId=found.id, Naam=found.name, KvkNummer=found.kvk_nummer,
            Vestigingsnummer=found.vestigingsnummer, Rol=found.role.value,
            Module=[m.value for m in found.modules], GebruiktBsn=found.uses_bsn,
            Berichttypen=types.receivable(Berichttype=list(found.receives)))

    @operation(optional(Unicode, min_len=1, max_len=200), optional(Unicode, pattern="[0-9]{8}"),
               optional(Unicode, pattern="[0-9]{12}"), optional(Unicode, **types.roles),
               optional(Unicode, **types.modules), optional(Integer32, ge=1, le=MAX_ENTRIES),
               optional(Unicode, max_len=64), _returns=types.entries,
               _out_variable_name="Deelnemers")
    def ZoekDeelnemers(ctx: Any, Naam: Any, KvkNummer: Any, Vestigingsnummer: Any, Rol: Any,
                       Module: Any, Maximum: Any, Na: Any) -> Any:
        caller = _caller(ctx, None)  # any registered caller
        found = _hub(ctx).addressbook.search(Search(
            module=module if Module is None else _module(Module), name=Naam,
            kvk_nummer=KvkNummer, vestigingsnummer=Vestigingsnummer,
            role=None if Rol is None else Role(Rol), limit=Maximum, after=Na), caller.party)
        return types.entries(Deelnemer=[entry(e) for e in found.entries],
                             Volgende=found.next_after)

    @operation(required(Unicode, max_len=64), optional(Unicode, **types.modules),
               _returns=types.entry, _out_variable_name="Deelnemer")
    def Deelnemer(ctx: Any, DeelnemerId: Any, Module: Any) -> Any:
        caller = _caller(ctx, None)
        return entry(_hub(ctx).addressbook.entry(
            DeelnemerId, module if Module is None else _module(Module), caller.party))

    return {"ZoekDeelnemers": ZoekDeelnemers, "Deelnemer": Deelnemer}


def _module(value: str) -> Module:
    try:
        return Module(value)
    except ValueError:  # the schema allows only modules; this is a second line
        raise SchemaInvalid(f"there is no module {value}") from None
