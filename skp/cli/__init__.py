"""The ``skp`` command line. Every command has ``--help``; bad input exits with code 2 and a
message that says what to do, never a traceback. This package is the one place that prints.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import click

from skp.config import Settings
from skp.errors import SkpError
from skp.hub import Hub


class CliError(click.ClickException):
    """A refusal: printed as ``Error: …`` with exit code 2."""

    exit_code = 2


class State:
    """Settings and hub, built on first use so ``--help`` needs neither."""

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    @cached_property
    def hub(self) -> Hub:
        return Hub.build(self.settings)


class SkpGroup(click.Group):
    """A group that turns SkpError from any command into a clean exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkpError as exc:
            raise CliError(exc.message) from exc


pass_state = click.make_pass_decorator(State, ensure=True)


@click.group(cls=SkpGroup)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """skp: an open Schuldenknooppunt, the routing hub for debt-relief messages.

    Settings come from SKP_* environment variables (see the README).
    """
    ctx.ensure_object(State)


def main() -> None:
    cli()


# The command modules register themselves on ``cli`` when imported.
import skp.cli.certs  # noqa: E402
import skp.cli.keys  # noqa: E402
import skp.cli.participants  # noqa: E402
import skp.cli.pki  # noqa: E402
import skp.cli.run  # noqa: E402
import skp.cli.testtool  # noqa: E402
import skp.cli.wsdl  # noqa: E402, F401
