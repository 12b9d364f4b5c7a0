"""What the command modules (:mod:`bayes_anlo.cli`, :mod:`bayes_anlo.study_cli`,
:mod:`bayes_anlo.design.oc_cli`) share: the exit statuses, the path parameter type, and the one way
a command fails on bad input.

The command line is written with click directly. typer (which wraps click) built a pydantic
validator for every parameter of every command at start-up: with pydantic's import that was about
0.2 s of each ``bayes-anlo`` process, a fifth of ``bayes-anlo rates``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from bayes_anlo.errors import InputError

EXIT_FLAGGED, EXIT_INPUT, EXIT_UNCONVERGED = 1, 2, 3
#: 128 + SIGINT: a command ended by Ctrl-C.
EXIT_INTERRUPTED = 130


class _Path(click.Path):
    """``click.Path`` that refuses an empty value (it would mean the working directory)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path.", param, ctx)
        return super().convert(value, param, ctx)


#: A path parameter (no existence check here: the loaders say what is wrong with a path).
PATH = _Path(path_type=Path)


class _AsciiNumber:
    """A number in ASCII digits only, as the CSV loaders read them (``int()`` and ``float()``
    would also take Arabic-Indic or full-width digits)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.isascii():
            self.fail(f"{value!r} is not a number in ASCII digits.", param, ctx)
        return super().convert(value, param, ctx)


class IntRange(_AsciiNumber, click.IntRange):
    """``click.IntRange`` in ASCII digits."""


class _Int(_AsciiNumber, click.types.IntParamType):
    pass


class _Float(_AsciiNumber, click.types.FloatParamType):
    pass


#: Integer and real parameters in ASCII digits.
INT, FLOAT = _Int(), _Float()


def fail(exc: InputError) -> NoReturn:
    """End the command on bad input: each problem as an ``error:`` line on stderr, exit 2."""
    for problem in exc.problems:
        click.echo(f"error: {problem}", err=True)
    raise click.exceptions.Exit(EXIT_INPUT)
