"""The `flywheel` command line: one command per job, plus doctor, check and the lake's views (lake_commands).

Heavy libraries (pyspark, torch, mlflow, networkit) are imported inside commands so `--help` is fast.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from socialflywheel import progress
from socialflywheel.cli_logging import setup_logging
from socialflywheel.cli_options import ConfOpt, JobJsonOpt, JsonOpt, SetOpt, SourceOpt, flags_show_no_type
from socialflywheel.config import ConfigError, FlywheelConfig, load_config
from socialflywheel.console import console as _console
from socialflywheel.console import print_figures, print_summary
from socialflywheel.jobs_registry import JOBS
from socialflywheel.lake.io import Lake
from socialflywheel.lake_commands import register_lake_commands
from socialflywheel.results import JobResult
from socialflywheel.runs import execute_job

flags_show_no_type()
app = typer.Typer(add_completion=False, no_args_is_help=True, help="Social Flywheel: batch analytics over social data.")
log = logging.getLogger("socialflywheel")

_Command = TypeVar("_Command", bound=Callable[..., None])


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(version("socialflywheel"))
        except PackageNotFoundError:  # run from a source tree that is not installed
            import socialflywheel

            typer.echo(getattr(socialflywheel, "__version__", "unknown"))
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress and no log lines below warnings (stderr); results still go to stdout."
        ),
    ] = False,
) -> None:
    """Social Flywheel: batch analytics over social data."""
    progress.set_quiet(quiet)


def resolve_config(conf: str | None, sets: list[str] | None) -> FlywheelConfig:
    """Load the config or exit 2 with the one-line error."""
    try:
        return load_config(conf, sets or [])
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def run_and_report(
    names: list[str], conf: str | None, sets: list[str] | None, *, as_json: bool = False, **kwargs: object
) -> list[JobResult]:
    """Run the named jobs in order, printing each summary; exit 2 on a config error, 1 on a failed job.

    Args:
        names: The jobs to run, in order.
        conf: The YAML config file (None: the default).
        sets: ``key=value`` config overrides.
        as_json: Print nothing but, once every job succeeded, a JSON array with one object per job (its ``job``
            name, run id, figures and the Delta versions it read and wrote) instead of the summary tables.
        **kwargs: Extra keyword arguments for every job's library function (e.g. ``user_ids`` for erase).

    Returns:
        Each job's result, in order.
    """
    cfg = resolve_config(conf, sets)
    setup_logging(log_dir=cfg.work_path / "logs")
    results = []
    for name in names:
        try:
            summary = execute_job(name, cfg, **kwargs)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # any failure: one line here, the traceback in the work folder's log
            if os.environ.get("FLYWHEEL_DEBUG"):
                raise
            where = _save_traceback(cfg, name, exc)
            typer.echo(f"{name} failed: {_one_line(exc)} (traceback: {where}; FLYWHEEL_DEBUG=1 prints it)", err=True)
            raise typer.Exit(1) from None
        if not as_json:
            print_summary(name, summary)
        results.append(summary)
    if as_json:
        typer.echo(json.dumps([{"job": n, **r.to_json()} for n, r in zip(names, results, strict=True)], default=str))
    return results


def _one_line(exc: BaseException) -> str:
    """The error as one bounded line; the type is named unless it is one of the messages written for people."""
    text = " ".join(str(exc).split())[:400] or type(exc).__name__
    return text if isinstance(exc, ValueError | OSError | RuntimeError) else f"{type(exc).__name__}: {text}"


def _save_traceback(cfg: FlywheelConfig, job: str, exc: BaseException) -> str:
    """Write the traceback to ``<work>/logs/<job>-<UTC time>.log`` (secrets masked) and return where it went."""
    import datetime as dt
    import traceback

    from socialflywheel.config import redact_text

    text = redact_text("".join(traceback.format_exception(exc)))
    try:
        folder = cfg.work_path / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.log"
        path.write_text(text, encoding="utf-8")
        return str(path)
    except OSError:  # the work folder itself is the problem: the log gets it
        log.debug("%s", text)
        return "not saved (the work folder is not writable)"


def _register_job(name: str) -> None:
    spec = JOBS[name]

    def command(conf: ConfOpt = None, set_: SetOpt = None, json_: JobJsonOpt = False) -> None:
        run_and_report([name], conf, set_, as_json=json_)

    command.__doc__ = spec.help
    app.command(name=name, help=spec.help)(_rename_set(command))


def _rename_set(fn: _Command) -> _Command:
    # typer derives the option from the annotation; the parameter is named set_ to avoid the builtin.
    return fn


def ingest(
    conf: ConfOpt = None,
    set_: SetOpt = None,
    conform: Annotated[bool, typer.Option(help="Also run the conform job (bronze -> silver).")] = True,
    source: SourceOpt = None,
    json_: JobJsonOpt = False,
) -> None:
    """Ingest landing files into bronze, then conform them into silver unless ``--no-conform``."""
    run_and_report(["ingest", "conform"] if conform else ["ingest"], conf, _with_source(set_, source), as_json=json_)


def _with_source(sets: list[str] | None, source: str | None) -> list[str] | None:
    """The ``--set`` overrides with ``--source NAME`` as ``ingest.source=NAME``."""
    return [*(sets or []), *([f"ingest.source={source}"] if source else [])] or None


def erase(
    user: Annotated[
        list[str] | None,
        typer.Option("--user", metavar="ID", help="A raw user id, as the request names it (repeatable)."),
    ] = None,
    request: Annotated[
        str | None,
        typer.Option("--request", metavar="ID", help="A stored request's id (from erase-request) instead of ids."),
    ] = None,
    conf: ConfOpt = None,
    set_: SetOpt = None,
    json_: JobJsonOpt = False,
) -> None:
    """Erase each ``--user`` (a raw id), or the people of a stored ``--request``, from every table (GDPR erasure)."""
    if bool(user) == bool(request):
        typer.echo("erase: give either --user ID (repeatable) or --request ER-ID (from erase-request)", err=True)
        raise typer.Exit(2)
    run_and_report(["erase"], conf, set_, as_json=json_, user_ids=user or (), request_id=request)


# Registered in the pipeline's order, which `flywheel --help` keeps; ingest and erase take options of their own.
for _name in JOBS:
    if _name == "ingest":
        app.command(help="Landing files -> bronze (and, unless --no-conform, bronze -> silver).")(ingest)
    elif _name == "erase":
        app.command(help=JOBS["erase"].help)(erase)
    else:
        _register_job(_name)


@app.command(name="erase-request", help="Store an erasure request (pseudonymized on arrival); prints its id only.")
def erase_request(
    user: Annotated[list[str] | None, typer.Option("--user", metavar="ID", help="A raw user id (repeatable).")] = None,
    users_file: Annotated[
        str | None,
        typer.Option("--users-file", metavar="FILE", help="A file of raw user ids, one per line (kept exactly)."),
    ] = None,
    conf: ConfOpt = None,
    set_: SetOpt = None,
) -> None:
    """Store the people of a data-protection request as pseudonyms; ``flywheel erase --request ID`` carries it out.

    The id is all a scheduler needs (the ``flywheel_erase`` DAG takes it), so no raw id reaches its database or logs.
    """
    from socialflywheel.lake.io import Lake
    from socialflywheel.privacy.requests import file_request
    from socialflywheel.runs import job_lease

    ids = list(user or [])
    if users_file:
        try:
            ids += [line.rstrip("\r\n") for line in Path(users_file).read_text("utf-8").splitlines(keepends=True)]
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"erase-request: cannot read {users_file}: {type(exc).__name__}", err=True)
            raise typer.Exit(2) from None
    cfg = resolve_config(conf, set_)
    lake = Lake.from_config(cfg)
    try:
        with job_lease(cfg, lake.root, "erase-request"):
            request_id = file_request(lake, [i for i in ids if i], key=cfg.privacy.hmac_key())
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"erase-request: {len({i for i in ids if i})} people stored as pseudonyms; carry it out with "
        f"flywheel erase --request {request_id}",
        err=True,
    )
    typer.echo(request_id)  # alone on stdout, for scripts: REQ=$(flywheel erase-request --users-file ids.txt)


@app.command(help="Load the governed handle mapping (CSV user_id,handle,basis): who the report may name by handle.")
def handles(
    file: Annotated[str, typer.Argument(metavar="FILE", help="CSV with the header user_id,handle,basis.")],
    conf: ConfOpt = None,
    set_: SetOpt = None,
) -> None:
    """Pseudonymize and store public handles (silver.public_handles); bad lines are named and skipped."""
    from socialflywheel.lake.io import Lake
    from socialflywheel.privacy.handles import load_handles
    from socialflywheel.runs import job_lease

    cfg = resolve_config(conf, set_)
    lake = Lake.from_config(cfg)
    try:
        with job_lease(cfg, lake.root, "handles"):
            result = load_handles(lake, Path(file), key=cfg.privacy.hmac_key())
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for problem in result.problems:
        typer.echo(f"handles: skipped {problem}", err=True)
    skipped = len(result.problems)
    figures = {"lines": result.lines, "people mapped": result.loaded, "erased, refused": result.erased}
    print_figures("handles", {**figures, "lines skipped": skipped})


@app.command(help="Load a real public format into the landing folder (then run `flywheel ingest`).")
def adapt(
    kind: Annotated[
        str,
        typer.Argument(
            metavar="KIND", help="snap (edge list -> follows) or ratings (MovieLens-style -> interactions)."
        ),
    ],
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="The edge list, or the ratings file (u.data, ratings.csv, *.inter).")
    ],
    movies: Annotated[
        str | None, typer.Option(metavar="FILE", help="Movie list for categories (u.item, movies.csv, *.item).")
    ] = None,
    name: Annotated[str | None, typer.Option(metavar="NAME", help="Source name (default: the file's stem).")] = None,
    like_threshold: Annotated[
        float,
        typer.Option(
            metavar="RATING", help="ratings: a rating at or above this is also a like (0: every rating is a positive)."
        ),
    ] = 4.0,
    conf: ConfOpt = None,
    set_: SetOpt = None,
) -> None:
    """Convert a SNAP edge list or a MovieLens-style ratings file into landing events; exit 2 on a bad file or kind."""
    import datetime as dt

    from socialflywheel.ingest.adapters import adapt_ratings, adapt_snap

    cfg = resolve_config(conf, set_)
    src = Path(path)
    if not src.exists():
        typer.echo(f"adapt: no such file: {src}", err=True)
        raise typer.Exit(2)
    label = name or src.stem.replace(".", "-")
    if kind == "snap":
        at = dt.datetime.combine(cfg.run_date or dt.date(2026, 1, 1), dt.time(), tzinfo=dt.UTC)
        result = adapt_snap(src, cfg.landing_dir, name=label, followed_at=at)
    elif kind == "ratings":
        movie_list = Path(movies) if movies else None
        result = adapt_ratings(src, cfg.landing_dir, name=label, movies=movie_list, like_threshold=like_threshold)
        typer.echo(
            "note: ratings older than ingest.min_ts are quarantined; for MovieLens 100K (1997-98) use "
            "--set ingest.min_ts=1990-01-01T00:00:00Z with ingest"
        )
    else:
        typer.echo(f"adapt: unknown kind {kind!r}; allowed: snap, ratings", err=True)
        raise typer.Exit(2)
    print_figures("adapt", {"file": str(result.path), "events": result.events})


@app.command(help="Print the landing contract (JSON Schema) for the config, with the source's own kept event types.")
def contract(conf: ConfOpt = None, set_: SetOpt = None, source: SourceOpt = None) -> None:
    """Print the JSON Schema a landing event must pass under this config (``ingest.source``'s kept types included)."""
    from socialflywheel.config.contract import contract_schema, render
    from socialflywheel.config.sources import load_source

    cfg = resolve_config(conf, _with_source(set_, source))
    kept = load_source(cfg.ingest.source).kept_types() if cfg.ingest.source else []
    typer.echo(render(contract_schema(kept)), nl=False)


@app.command(help="Run the pipeline end to end on the embedded default and print a summary.")
def demo(conf: ConfOpt = None, set_: SetOpt = None) -> None:
    """Run every job of the pipeline in order on the configured lake and print their summaries."""
    from socialflywheel.demo import run_demo

    cfg = resolve_config(conf, set_)
    setup_logging(log_dir=cfg.work_path / "logs")
    run_demo(cfg)


def _open_lake(conf: str | None, sets: list[str] | None) -> Lake:
    return Lake.from_config(resolve_config(conf, sets))


register_lake_commands(app, open_lake=_open_lake)


@app.command(help="Integrity of the lake: holes in each table's Delta log, bronze's bookkeeping against bronze.events.")
def check(conf: ConfOpt = None, set_: SetOpt = None) -> None:
    """Print one line per problem (the table, what is wrong, the fix) and exit 1, or say the lake is intact."""
    from socialflywheel.lake.integrity import check as integrity_check
    from socialflywheel.lake.io import Lake

    cfg = resolve_config(conf, set_)
    lake = Lake.from_config(cfg)
    problems = integrity_check(lake)
    for problem in problems:
        typer.echo(problem.line(), err=True)
    if not problems:
        typer.echo(f"lake {lake.root}: every table's log is whole and bronze's bookkeeping matches bronze.events")
    # The answer is out; leave without the interpreter's teardown, where the threads of delta-rs' filesystem
    # handler now and then abort the process ("terminate called without an active exception", exit -6; seen on
    # a fresh clone) and would turn a clean exit 1 into a crash. Nothing here needs an exit handler.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if problems else 0)


@app.command(help="Engine, Java, GPU, package versions, and what would run where.")
def doctor(conf: ConfOpt = None, set_: SetOpt = None, json_: JsonOpt = False) -> None:
    """Print the environment report: engine, Java, GPU, package versions and the backend each stage would use."""
    from socialflywheel.doctor import facts, report

    cfg = resolve_config(conf, set_)
    if json_:
        typer.echo(json.dumps([{"item": item, "value": value} for item, value in facts(cfg)]))
    else:
        _console().print(report(cfg))


def job_main(name: str) -> None:
    """Entry point of jobs/<name>.py: the same command as `flywheel <name>`, standalone."""
    command = app.registered_commands
    sub = typer.Typer(add_completion=False)
    for cmd in command:
        if cmd.name == name or (cmd.name is None and cmd.callback is not None and cmd.callback.__name__ == name):
            sub.registered_commands.append(cmd)
    if not sub.registered_commands:
        raise SystemExit(f"unknown job {name!r}")
    sub(args=sys.argv[1:], prog_name=f"jobs/{name}.py")


if __name__ == "__main__":
    app()
