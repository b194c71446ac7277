"""The arguments and options that several `flywheel` commands share (typer annotations)."""

from __future__ import annotations

from typing import Annotated

import typer

ConfOpt = Annotated[str | None, typer.Option("--conf", metavar="FILE", help="YAML config (default conf/local.yaml).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a config key: --set spark.engine=classic (repeatable)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON array of objects instead, and nothing else.")]
TableArg = Annotated[
    str, typer.Argument(metavar="TABLE", help="A catalog table, e.g. silver.events (`flywheel tables` lists them).")
]
