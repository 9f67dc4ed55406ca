"""The ``skp`` command line. Every command has ``--help``; bad input exits with code 2 and a
message that says what to do, never a traceback. This package is the one place that prints.

:class:`SkpGroup` is the one place that turns what a command raises into that line: an
:class:`~skp.errors.SkpError` (its message), an ``OSError`` (the file or address and why) or
a database error (the driver's reason, never a statement).
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import IO, Any

import click
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from skp import logs
from skp.config import Environment, Settings
from skp.errors import SkpError
from skp.hub import Hub
from skp.store.db import check_database, reason


class CliError(click.ClickException):
    """A refusal: printed as ``Error: …`` with exit code 2; in production as a JSON log record
    of level ERROR, like every other line (skp.logs)."""

    exit_code = 2
    #: Set by :class:`SkpGroup` when SKP_ENVIRONMENT is production.
    as_json = False

    def show(self, file: IO[Any] | None = None) -> None:
        if not self.as_json:
            super().show(file)
            return
        record = logging.LogRecord("skp.cli", logging.ERROR, __file__, 0, self.message, None,
                                   None)
        click.echo(logs.JsonFormatter().format(record), file=file, err=True)


class State:
    """Settings and hub, built on first use so ``--help`` needs neither."""

    _logging = False  # whether `say` has set up the log output

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    @cached_property
    def hub(self) -> Hub:
        hub = Hub.build(self.settings)
        try:
            check_database(hub.engine)
        except SkpError:
            hub.engine.dispose()
            raise
        return hub

    def close(self) -> None:
        """Give back the hub's database connections, if it was built."""
        if "hub" in self.__dict__:
            self.hub.engine.dispose()

    def say(self, line: str, **fields: Any) -> None:
        """Tell the operator ``line``: printed in development; in production a JSON log record
        (skp.logs) with ``fields``, like every other line the hub writes there."""
        if self.settings.environment is not Environment.PRODUCTION:
            click.echo(line)
            return
        if not self._logging:
            logs.configure(self.settings.environment)
            self._logging = True
        logging.getLogger("skp.cli").info(line, extra=fields)

    def development_only(self, what: str) -> None:
        """Refuse ``what`` (a development convenience) when SKP_ENVIRONMENT is production."""
        if self.settings.environment is Environment.PRODUCTION:
            raise CliError(f"{what} is for development hubs only, and SKP_ENVIRONMENT is "
                           "production")


class SkpGroup(click.Group):
    """A group that turns what any command raises into one line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except SkpError as exc:
                raise CliError(exc.message) from exc
            except OSError as exc:
                raise CliError(_os_error(exc)) from exc
            except DBAPIError as exc:
                raise CliError(f"the database failed: {reason(exc)}") from exc
            except SQLAlchemyError as exc:
                raise CliError(f"the database failed: {type(exc).__name__}") from exc
            except CommandError as exc:  # alembic's: e.g. a schema newer than this skp
                raise CliError(f"the migration failed: {exc}") from exc
        except CliError as exc:
            exc.as_json = _production(ctx)
            raise


def _production(ctx: click.Context) -> bool:
    """Whether the settings say production (False when they cannot be read at all)."""
    try:
        return ctx.ensure_object(State).settings.environment is Environment.PRODUCTION
    except SkpError:
        return False


def _os_error(exc: OSError) -> str:
    why = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {why}"
    return why


pass_state = click.make_pass_decorator(State, ensure=True)


@click.group(cls=SkpGroup)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """skp: an open Schuldenknooppunt, the routing hub for debt-relief messages.

    Settings come from SKP_* environment variables (see the README).
    """
    ctx.call_on_close(ctx.ensure_object(State).close)


def main() -> None:
    cli()


# The command modules register themselves on ``cli`` when imported.
import skp.cli.acceptance  # noqa: E402
import skp.cli.certs  # noqa: E402
import skp.cli.csv  # noqa: E402
import skp.cli.keys  # noqa: E402
import skp.cli.messages  # noqa: E402
import skp.cli.notify  # noqa: E402
import skp.cli.participants  # noqa: E402
import skp.cli.pki  # noqa: E402
import skp.cli.requests  # noqa: E402
import skp.cli.run  # noqa: E402
import skp.cli.serve  # noqa: E402
import skp.cli.testtool  # noqa: E402
import skp.cli.wsdl  # noqa: E402, F401
