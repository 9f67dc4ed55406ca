"""The demo participants of a development hub, with fixed ids so examples can name them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from skp import pki
from skp.domain.roles import ROLE_MODULES, Role
from skp.errors import NotFound
from skp.participants import Participants, fingerprint, load_certificate

_NAMESPACE = uuid.UUID("5b3f3c1e-8a0e-4d8e-9d7a-6b2c1f0e4a11")


@dataclass(frozen=True)
class DemoParticipant:
    slug: str
    name: str
    role: Role
    uses_bsn: bool = False

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.slug))


CAST = (
    DemoParticipant("shv", "Gemeente Voorbeeld, schuldhulpverlening", Role.SHV_FASE2),
    DemoParticipant("energie-noord", "Energie BV, unit Noord", Role.SE),
    DemoParticipant("energie-zuid", "Energie BV, unit Zuid", Role.SE),
    DemoParticipant("kredietbank", "Kredietbank Voorbeeld", Role.SHV_FASE2),
    DemoParticipant("waarborgfonds", "Waarborgfonds saneringskredieten", Role.WSK),
)


def add_demo(participants: Participants, certs: Path) -> list[tuple[DemoParticipant, bool]]:
    """Register every demo participant and its dev certificate unless already there.

    Returns each participant with whether anything was added for it.
    """
    registered = {c.fingerprint for c in participants.certificates()}
    result = []
    for demo in CAST:
        added = False
        try:
            participants.get(demo.id)
        except NotFound:
            participants.add(name=demo.name, role=demo.role, modules=ROLE_MODULES[demo.role],
                             uses_bsn=demo.uses_bsn, participant_id=demo.id)
            added = True
        cert_file = certs / f"{demo.slug}.pem"
        issued = (pki.Issued(cert_file, certs / f"{demo.slug}.key") if cert_file.exists()
                  else pki.issue_client(certs, demo.slug, demo.name))
        if fingerprint(load_certificate(issued.pem)) not in registered:
            participants.add_certificate(demo.id, issued.pem)
            added = True
        result.append((demo, added))
    return result
