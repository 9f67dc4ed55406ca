"""acceptance runs and the participant lifecycle

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skp.store.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('acceptance_run',
    sa.Column('id', sa.Uuid(as_uuid=False), nullable=False, comment='Run id'),
    sa.Column('participant_id', sa.Uuid(as_uuid=False), nullable=False, comment='The participant under test'),
    sa.Column('state', sa.Enum('running', 'passed', 'failed', name='run_state', native_enum=False, create_constraint=True, length=32), nullable=False, comment='running, passed or failed'),
    sa.Column('routines', sa.String(length=200), nullable=False, comment='The routines of the run, comma-separated'),
    sa.Column('started_at', UTCDateTime(), nullable=False, comment='When the run was started'),
    sa.Column('finished_at', UTCDateTime(), nullable=True, comment='When it ended'),
    sa.Column('drop_send', sa.Boolean(), nullable=False, comment="Drop the answer of the participant's next committed send, once"),
    sa.Column('faults', sa.String(length=500), nullable=False, comment="Faults to answer once each: 'Op|Op=Code' items, separated by ';'"),
    sa.CheckConstraint("state = 'running' OR finished_at IS NOT NULL", name=op.f('ck_acceptance_run_finished_at')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_acceptance_run_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acceptance_run')),
    comment="Acceptance runs: scripted routines that judge a participant's adapter"
    )
    with op.batch_alter_table('acceptance_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acceptance_run_participant_id_state'), ['participant_id', 'state'], unique=False)

    op.create_table('acceptance_call',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False, comment='Sequence'),
    sa.Column('run_id', sa.Uuid(as_uuid=False), nullable=False, comment='Run'),
    sa.Column('at', UTCDateTime(), nullable=False, comment='When the request was answered'),
    sa.Column('operation', sa.String(length=64), nullable=False, comment='SOAP operation; Matching: a partner received a Saldoverzoek antwoord'),
    sa.Column('outcome', sa.String(length=64), nullable=False, comment='ok, a fault code, or dropped; for Matching its code'),
    sa.Column('message_id', sa.String(length=64), nullable=True, comment='Hub message id'),
    sa.Column('repeated', sa.Boolean(), nullable=False, comment='A send of a known Kenmerk'),
    sa.Column('cross_reference', sa.String(length=64), nullable=True, comment="The header's CrossReferentienummer of a send"),
    sa.Column('conversation', sa.String(length=64), nullable=True, comment="The header's ConversatieReferentienummer of a send"),
    sa.ForeignKeyConstraint(['run_id'], ['acceptance_run.id'], name=op.f('fk_acceptance_call_run_id_acceptance_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acceptance_call')),
    comment='Requests of participants under acceptance (operation, outcome, ids)'
    )
    with op.batch_alter_table('acceptance_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acceptance_call_run_id_at'), ['run_id', 'at'], unique=False)

    op.create_table('acceptance_step',
    sa.Column('run_id', sa.Uuid(as_uuid=False), nullable=False, comment='Run'),
    sa.Column('seq', sa.Integer(), nullable=False, comment='Place in the run, from 0'),
    sa.Column('routine', sa.String(length=32), nullable=False, comment='Routine (skp.domain.acceptance)'),
    sa.Column('key', sa.String(length=64), nullable=False, comment="The step's name within its routine"),
    sa.Column('script', sa.Text(), nullable=False, comment='The step as JSON: kind, expectation, deliveries, starts, faults'),
    sa.Column('outcome', sa.Enum('pending', 'waiting', 'passed', 'failed', name='outcome', native_enum=False, create_constraint=True, length=32), nullable=False, comment='pending, waiting, passed or failed'),
    sa.Column('started_at', UTCDateTime(), nullable=True, comment='When the step began'),
    sa.Column('deadline_at', UTCDateTime(), nullable=True, comment='When it fails if unmet'),
    sa.Column('finished_at', UTCDateTime(), nullable=True, comment='When it was judged'),
    sa.Column('sent', sa.Text(), nullable=False, comment='Hub ids the test partners sent, comma-separated'),
    sa.Column('lines', sa.Text(), nullable=False, comment='The verdict: expected and seen, one a line'),
    sa.CheckConstraint("outcome = 'pending' OR started_at IS NOT NULL", name=op.f('ck_acceptance_step_started_at')),
    sa.ForeignKeyConstraint(['run_id'], ['acceptance_run.id'], name=op.f('fk_acceptance_step_run_id_acceptance_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'seq', name=op.f('pk_acceptance_step')),
    comment='Steps of acceptance runs with their expectations and verdicts'
    )
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing', sa.Enum('registered', 'in_acceptance', 'accepted', 'active', 'deactivated', name='standing', native_enum=False, create_constraint=True, length=32), server_default='active', nullable=False, comment='Lifecycle: registered, in_acceptance, accepted, active, deactivated'))
    # Participants registered before the lifecycle existed are active, or deactivated.
    op.execute("UPDATE participant SET standing = 'deactivated' WHERE NOT active")
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.create_check_constraint('active_standing', "active = (standing <> 'deactivated')")



def downgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_participant_active_standing'), type_='check')
        batch_op.drop_constraint(op.f('ck_participant_standing'), type_='check')
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('standing')

    op.drop_table('acceptance_step')
    with op.batch_alter_table('acceptance_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acceptance_call_run_id_at'))

    op.drop_table('acceptance_call')
    with op.batch_alter_table('acceptance_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acceptance_run_participant_id_state'))

    op.drop_table('acceptance_run')
