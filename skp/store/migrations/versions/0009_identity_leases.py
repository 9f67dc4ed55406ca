"""the register's version, counted by triggers, and the identity leases of server processes

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: The tables whose every change a kept identity must learn of (skp.identities).
REGISTER = ('participant', 'participant_module', 'certificate')
_COUNT = 'UPDATE register_version SET version = version + 1'


def upgrade() -> None:
    op.create_table('register_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False, comment='Always 1'),
    sa.Column('version', sa.BigInteger(), nullable=False, comment='Changes to the register so far'),
    sa.CheckConstraint('id = 1', name=op.f('ck_register_version_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_version')),
    comment='Changes to the participant register so far (one row)'
    )
    op.execute('INSERT INTO register_version (id, version) VALUES (1, 0)')
    op.create_table('identity_lease',
    sa.Column('process', sa.String(length=32), nullable=False, comment='Random id of the process'),
    sa.Column('version', sa.BigInteger(), nullable=False, comment='Register version it applied'),
    sa.Column('renewed_at', sa.Double(), nullable=False, comment='When it last renewed its lease: seconds since 1970, database clock'),
    sa.PrimaryKeyConstraint('process', name=op.f('pk_identity_lease')),
    comment="Server processes that keep callers' identities"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE FUNCTION register_changed() RETURNS trigger LANGUAGE plpgsql AS '
                   f'$$ BEGIN {_COUNT}; RETURN NULL; END $$')
        for table in REGISTER:
            op.execute(f'CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR '
                       f'TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION '
                       'register_changed()')
    else:  # SQLite: a trigger per table and event, for each row
        for table in REGISTER:
            for event in ('INSERT', 'UPDATE', 'DELETE'):
                op.execute(f'CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {table} '
                           f'BEGIN {_COUNT}; END')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in REGISTER:
            op.execute(f'DROP TRIGGER {table}_changed ON {table}')
        op.execute('DROP FUNCTION register_changed()')
    else:
        for table in REGISTER:
            for event in ('insert', 'update', 'delete'):
                op.execute(f'DROP TRIGGER {table}_{event}')
    op.drop_table('identity_lease')
    op.drop_table('register_version')
