"""``--help`` in the CLI's language (kk, ru, en), chosen as for every CLI message.

Help texts are written in English in the code (command docstrings, ``help=``, ``N_()``
for a text kept in a table) and looked up in the catalogs when a help page is drawn, not
when a command is defined: the language is known only once the arguments are read
(``--lang``, else ``LC_ALL``/``LC_MESSAGES``/``LANG``; ``app.messages``).
``make translations`` extracts them with ``app/cli/_extract.py``.

click's own words on those pages (``Usage:``, ``Options``, ``[default: …]``) and in its
usage errors come from the same catalogs: click's modules call ``_`` and ``ngettext``,
which ``use_cli_language`` points at the CLI's translator. ``CLICK_STRINGS`` lists the
ones Kuager translates (tests/test_i18n_cli.py checks that click still says each one);
``Error:`` stays English, like the ``error:`` prefix of the contract.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click

from app.messages import N_, cli_gettext, cli_language, cli_translator, set_language

#: click's messages that the catalogs translate, exactly as click writes them.
CLICK_STRINGS = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("default: {default}"),
    N_("required"),
    N_("Try '{command} {option}' for help."),
    N_("Missing option"),
    N_("Missing argument"),
    N_("Missing command."),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Choose from:\n\t{choices}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("Aborted!"),
)
#: The {name} of that message and the metavar (FILE, DIRECTORY, PATH) of ``PathArg``.
PATH_KINDS = (N_("file"), N_("directory"), N_("path"))
#: The help option's text: click makes it once and keeps it, so it is given as written.
HELP_OPTION_TEXT = CLICK_STRINGS[3]
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui",
                  "types", "utils")


class PathArg(click.Path):
    """``click.Path`` whose name (the metavar, and the word in "File 'x' does not exist")
    is in the language of the moment: click sets it once, when the option is defined."""

    @property  # type: ignore[override]
    def name(self) -> str:
        file, directory, path = PATH_KINDS
        kind = (file if self.file_okay and not self.dir_okay
                else directory if self.dir_okay and not self.file_okay else path)
        return _translate(kind)

    @name.setter
    def name(self, _value: str) -> None:
        """click.Path.__init__ sets it; the property above decides."""


class ChoiceArg(click.Choice):  # type: ignore[type-arg]
    """``click.Choice`` whose refusal of a value is translated (click's has a plural whose
    two forms take different placeholders, which the catalogs' checks refuse)."""

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return cli_gettext("%(value)s is not one of: %(choices)s", value=repr(value),
                           choices=", ".join(map(repr, self.choices)))


def _translate(text: str) -> str:
    return cli_translator(cli_language()).gettext(text)


def _translate_plural(singular: str, plural: str, num: int) -> str:
    return cli_translator(cli_language()).ngettext(singular, plural, num)


def use_cli_language() -> None:
    """Make click's own messages follow the CLI's language (once, at import)."""
    import importlib

    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _translate  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _translate_plural  # type: ignore[attr-defined]


def _text(text: str | None) -> str | None:
    return _translate(inspect.cleandoc(text)) if text else text


@contextlib.contextmanager
def translated(command: click.Command, ctx: click.Context | None) -> Iterator[None]:
    """The command's texts in the CLI's language while its help is drawn, then as written
    (so that one process can draw help in several languages, as the tests do)."""
    params = list(command.params)
    help_option = command.get_help_option(ctx) if ctx is not None else None
    if help_option is not None:
        help_option.help = HELP_OPTION_TEXT
        params.append(help_option)
    saved = (command.help, command.short_help, command.epilog,
             [getattr(param, "help", None) for param in params])
    command.help, command.short_help, command.epilog = (
        _text(command.help), _text(command.short_help), _text(command.epilog))
    for param in params:
        if isinstance(param, click.Option):
            param.help = _text(param.help)
    try:
        yield
    finally:
        command.help, command.short_help, command.epilog = saved[:3]
        for param, text in zip(params, saved[3], strict=True):
            if isinstance(param, click.Option):
                param.help = text


class Context(click.Context):
    """click's context, measuring the terminal without ``shutil`` (which brings lzma, bz2
    and zlib: milliseconds of a ``--help`` that should take a few tens)."""

    def make_formatter(self) -> click.HelpFormatter:
        from click import formatting

        width = self.terminal_width or formatting.FORCED_WIDTH
        if width is None:
            width = max(min(_terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


def _terminal_columns() -> int:
    """As ``shutil.get_terminal_size().columns``: ``COLUMNS``, else the terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Translated(click.Command):
    context_class = Context

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with translated(self, ctx):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with translated(self, None):
            return super().get_short_help_str(limit)


class Command(_Translated):
    """A command whose help page is drawn in the CLI's language."""


class Group(_Translated, click.Group):
    """A group whose help page, and every subcommand's, is drawn in the CLI's language.

    The root group also reads ``--lang`` before anything else, so that ``kuager --lang kk
    init --help`` is in Kazakh although click answers ``--help`` first.
    """

    command_class = Command
    group_class = type  # subgroups are Groups too

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:  # resolved once here, not again for each text on the page
            set_language(_lang_before_command(args, self.commands))
        return super().parse_args(ctx, args)


def _lang_before_command(args: Sequence[str], commands: dict[str, Any]) -> str | None:
    """The value of the group's ``--lang`` (``table --lang`` is the table's, not this)."""
    for i, arg in enumerate(args):
        if arg in commands:
            return None
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


use_cli_language()
