"""The arguments and options that several `flywheel` commands share (typer annotations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

ConfOpt = Annotated[str | None, typer.Option("--conf", metavar="FILE", help="YAML config (default conf/local.yaml).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a config key: --set spark.engine=classic (repeatable)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON array of objects instead, and nothing else.")]
JobJsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print a JSON array (an object per job: run id, figures, Delta versions) instead of tables."
    ),
]
SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        metavar="NAME",
        help="Landing records are this source's (twitter-v1, twitter-v2, mastodon, bluesky, reddit, or a mapping"
        " file): the same as --set ingest.source=NAME.",
    ),
]
TableArg = Annotated[
    str, typer.Argument(metavar="TABLE", help="A catalog table, e.g. silver.events (`flywheel tables` lists them).")
]


def flags_show_no_type() -> None:
    """Help names what an option takes (``FILE``, ``KEY=VALUE``, ``N``) and nothing beside a flag or an argument.

    typer prints every parameter's Python type (``<bool>``, ``<list[str]>``, ``<str>``) in a column of its own;
    the options here set a metavar for their value, a flag (``--json``, ``--quiet``, ``--help``) takes none, and an
    argument's metavar is already its name. The help test checks every command for a leftover type.
    """
    from typer.core import TyperArgument, TyperOption

    for cls in (TyperOption, TyperArgument):
        shown = getattr(cls, "display_type_rich", None)
        if shown is None or getattr(shown, "_flywheel", False):
            continue

        def display(
            self: TyperOption | TyperArgument, ctx: object, shown: Callable[..., str | None] = shown
        ) -> str | None:
            if isinstance(self, TyperArgument) or (self.is_flag and self.metavar is None):
                return None
            return shown(self, ctx)

        display._flywheel = True  # type: ignore[attr-defined]
        cls.display_type_rich = display  # type: ignore[method-assign]
