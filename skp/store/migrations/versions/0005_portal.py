"""the portal: employees, units, IBANs, contacts, notifications, requests, audit, sessions

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skp.store.types import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False, comment='Sequence'),
    sa.Column('at', UTCDateTime(), nullable=False, comment='When'),
    sa.Column('actor', sa.String(length=64), nullable=False, comment='employee:<id>, operator, or a failed login'),
    sa.Column('kvk_nummer', sa.String(length=8), nullable=True, comment='The organisation'),
    sa.Column('action', sa.String(length=64), nullable=False, comment='What was done (a stable code)'),
    sa.Column('subject', sa.String(length=200), nullable=True, comment='Ids it was done to'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    comment='Audit trail of the portal and its operator (metadata only)'
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_kvk_nummer_at'), ['kvk_nummer', 'at'], unique=False)

    op.create_table('contact',
    sa.Column('id', sa.Uuid(as_uuid=False), nullable=False, comment='Id'),
    sa.Column('kvk_nummer', sa.String(length=8), nullable=False, comment='The organisation'),
    sa.Column('name', sa.String(length=200), nullable=False, comment='Name'),
    sa.Column('email', sa.String(length=254), nullable=False, comment='E-mail address'),
    sa.Column('phone', sa.String(length=20), nullable=False, comment='Phone number'),
    sa.Column('role', sa.String(length=32), nullable=False, comment='Role (skp.domain.organisation)'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact')),
    comment='Contact persons of organisations'
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_kvk_nummer'), ['kvk_nummer'], unique=False)

    op.create_table('employee',
    sa.Column('id', sa.Uuid(as_uuid=False), nullable=False, comment="The employee's id at the hub"),
    sa.Column('kvk_nummer', sa.String(length=8), nullable=False, comment='The organisation (LegalSubjectID)'),
    sa.Column('acting_subject', sa.String(length=512), nullable=False, comment="The broker's pseudonym of the person (ActingSubjectID)"),
    sa.Column('display_name', sa.String(length=200), nullable=False, comment='The name the employee gave at first login'),
    sa.Column('created_at', UTCDateTime(), nullable=False, comment='First login'),
    sa.Column('last_login_at', UTCDateTime(), nullable=False, comment='Latest login'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employee')),
    sa.UniqueConstraint('kvk_nummer', 'acting_subject', name=op.f('uq_employee_kvk_nummer_acting_subject')),
    comment='Employees of organisations on the portal'
    )
    op.create_table('portal_session',
    sa.Column('key', sa.String(length=64), nullable=False, comment='SHA-256 of the session token, hex'),
    sa.Column('data', sa.Text(), nullable=False, comment="The session's values, JSON"),
    sa.Column('created_at', UTCDateTime(), nullable=False, comment='When the session began'),
    sa.Column('seen_at', UTCDateTime(), nullable=False, comment='Its latest request'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_portal_session')),
    comment='Server-side sessions of the portal, shared by its processes'
    )
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_session_seen_at'), ['seen_at'], unique=False)

    op.create_table('bank_account',
    sa.Column('id', sa.Uuid(as_uuid=False), nullable=False, comment='Id'),
    sa.Column('participant_id', sa.Uuid(as_uuid=False), nullable=False, comment='The business unit'),
    sa.Column('iban', sa.String(length=34), nullable=False, comment='IBAN, electronic form (no spaces)'),
    sa.Column('holder', sa.String(length=200), nullable=False, comment="The account holder's name"),
    sa.Column('added_at', UTCDateTime(), nullable=False, comment='When it was added'),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_bank_account_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_account')),
    sa.UniqueConstraint('participant_id', 'iban', name=op.f('uq_bank_account_participant_id_iban')),
    comment='IBANs of business units (organisation data, entered by the organisation)'
    )
    op.create_table('employee_unit',
    sa.Column('employee_id', sa.Uuid(as_uuid=False), nullable=False, comment='The employee'),
    sa.Column('participant_id', sa.Uuid(as_uuid=False), nullable=False, comment='The business unit'),
    sa.Column('linked_at', UTCDateTime(), nullable=False, comment='When the administrator linked it'),
    sa.ForeignKeyConstraint(['employee_id'], ['employee.id'], name=op.f('fk_employee_unit_employee_id_employee'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_employee_unit_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('employee_id', 'participant_id', name=op.f('pk_employee_unit')),
    comment='Which business units an employee works for'
    )
    with op.batch_alter_table('employee_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employee_unit_participant_id'), ['participant_id'], unique=False)

    op.create_table('notification_address',
    sa.Column('participant_id', sa.Uuid(as_uuid=False), nullable=False, comment='The business unit'),
    sa.Column('email', sa.String(length=254), nullable=False, comment='E-mail address'),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_notification_address_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', 'email', name=op.f('pk_notification_address')),
    comment='E-mail addresses subscribed to notifications'
    )
    op.create_table('unit_request',
    sa.Column('id', sa.Uuid(as_uuid=False), nullable=False, comment='Id'),
    sa.Column('participant_id', sa.Uuid(as_uuid=False), nullable=False, comment='The business unit'),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='module or extension'),
    sa.Column('value', sa.String(length=32), nullable=False, comment='The module slug, or 7/14/28 days'),
    sa.Column('state', sa.String(length=16), nullable=False, comment='open, approved or refused'),
    sa.Column('requested_by', sa.Uuid(as_uuid=False), nullable=False, comment='The administrator who asked'),
    sa.Column('requested_at', UTCDateTime(), nullable=False, comment='When it was asked'),
    sa.Column('decided_at', UTCDateTime(), nullable=True, comment='When the operator answered'),
    sa.Column('reason', sa.String(length=500), nullable=True, comment="The operator's reason for a refusal"),
    sa.CheckConstraint("(state = 'open') = (decided_at IS NULL)", name=op.f('ck_unit_request_decided')),
    sa.CheckConstraint("kind IN ('module', 'extension')", name=op.f('ck_unit_request_kind')),
    sa.CheckConstraint("state IN ('open', 'approved', 'refused')", name=op.f('ck_unit_request_state')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_unit_request_participant_id_participant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by'], ['employee.id'], name=op.f('fk_unit_request_requested_by_employee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_request')),
    comment='Requests of organisations that the operator answers'
    )
    with op.batch_alter_table('unit_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_request_state_requested_at'), ['state', 'requested_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('unit_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_request_state_requested_at'))

    op.drop_table('unit_request')
    op.drop_table('notification_address')
    with op.batch_alter_table('employee_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employee_unit_participant_id'))

    op.drop_table('employee_unit')
    op.drop_table('bank_account')
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_session_seen_at'))

    op.drop_table('portal_session')
    op.drop_table('employee')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_kvk_nummer'))

    op.drop_table('contact')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_kvk_nummer_at'))

    op.drop_table('audit_event')

