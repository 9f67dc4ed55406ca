"""e-mail notifications: the outbox, its counters, and what each address is subscribed to

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skp.store.types import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_count',
    sa.Column('kind', sa.String(length=16), nullable=False, comment='new or reminder'),
    sa.Column('outcome', sa.String(length=16), nullable=False, comment='sent, failed (an attempt), refused or stale'),
    sa.Column('count', sa.BigInteger(), nullable=False, comment='How many so far'),
    sa.CheckConstraint('count >= 0', name=op.f('ck_notification_count_count')),
    sa.PrimaryKeyConstraint('kind', 'outcome', name=op.f('pk_notification_count')),
    comment='E-mail notifications sent, failed, refused or stale, since the start'
    )
    op.create_table('notification_mail',
    sa.Column('id', sa.Uuid(as_uuid=False), nullable=False, comment="Id; also the mail's Message-ID"),
    sa.Column('participant_id', sa.Uuid(as_uuid=False), nullable=False, comment='The business unit'),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='new (messages) or reminder'),
    sa.Column('window_end', UTCDateTime(), nullable=False, comment='new: messages received up to here are counted; reminder: end of its day'),
    sa.Column('created_at', UTCDateTime(), nullable=False, comment='When it was decided'),
    sa.Column('stale_at', UTCDateTime(), nullable=False, comment='Not sent any more from then on'),
    sa.Column('recipients', sa.Text(), nullable=False, comment='Subscribed addresses, one a line'),
    sa.Column('subject', sa.String(length=300), nullable=False, comment='Subject'),
    sa.Column('body', sa.Text(), nullable=False, comment='Plain-text body'),
    sa.Column('state', sa.String(length=16), nullable=False, comment='pending, sent, refused or stale'),
    sa.Column('attempts', sa.Integer(), nullable=False, comment='Failed attempts to send it'),
    sa.Column('last_attempt_at', UTCDateTime(), nullable=True, comment='Latest failed attempt'),
    sa.Column('done_at', UTCDateTime(), nullable=True, comment='When it was sent, refused or given up'),
    sa.CheckConstraint("(state = 'pending') = (done_at IS NULL)", name=op.f('ck_notification_mail_done')),
    sa.CheckConstraint("kind IN ('new', 'reminder')", name=op.f('ck_notification_mail_kind')),
    sa.CheckConstraint("state IN ('pending', 'sent', 'refused', 'stale')", name=op.f('ck_notification_mail_state')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notification_mail_attempts')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_notification_mail_participant_id_participant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_mail')),
    sa.UniqueConstraint('participant_id', 'kind', 'window_end', name=op.f('uq_notification_mail_participant_id_kind_window_end')),
    comment='Outbox of e-mail notifications (unit name, counts and link; no content)'
    )
    with op.batch_alter_table('notification_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_mail_participant_id_kind_created_at'), ['participant_id', 'kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_mail_state_created_at'), ['state', 'created_at'], unique=False)

    with op.batch_alter_table('notification_address', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_messages', sa.Boolean(), server_default=sa.true(), nullable=False, comment='Gets the notices of new messages'))
        batch_op.add_column(sa.Column('reminders', sa.Boolean(), server_default=sa.true(), nullable=False, comment='Gets the reminders before messages expire'))



def downgrade() -> None:
    with op.batch_alter_table('notification_address', schema=None) as batch_op:
        batch_op.drop_column('reminders')
        batch_op.drop_column('new_messages')

    with op.batch_alter_table('notification_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_mail_state_created_at'))
        batch_op.drop_index(batch_op.f('ix_notification_mail_participant_id_kind_created_at'))

    op.drop_table('notification_mail')
    op.drop_table('notification_count')
