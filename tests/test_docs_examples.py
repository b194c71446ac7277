"""Every example in the README, the docs and the configs is one that works (#19: `conf/local.yaml` told users to run
`flywheel doctor --config`, an option that never existed).

Extracted from the text, not listed here, so a new example is checked the day it is written:
- every `flywheel ...` command line (inline or in a code block) parses against the real CLI: the command exists and
  takes those options (placeholders such as FILE or N stand in for values; `[...]` parts are taken as written);
- the config error shown in the README is the one `load_config` gives, word for word;
- the spark-submit line is the one `submit_command()` builds (the README says "exactly");
- every `make` target, `jobs/*.py`, `conf/*.yaml` and `infra/` file named exists, and every config loads.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialflywheel.cli import app
from socialflywheel.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "conf").glob("*.yaml"))]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _fenced(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)


def flywheel_examples() -> list[tuple[str, str]]:
    """(where, command line) for every `flywheel ...` in the docs: inline code spans and code-block lines."""
    found: list[tuple[str, str]] = []
    for path in DOCS:
        text = _text(path)
        blocks = _fenced(text)
        for block in blocks:
            found += [(path.name, ln.strip().removeprefix("$ ")) for ln in block.splitlines()]
        outside = re.sub(r"```.*?```", "", text, flags=re.S)
        found += [(path.name, span) for span in re.findall(r"`(flywheel [^`]+)`", outside)]
    return [(where, line) for where, line in found if line.startswith("flywheel ")]


def _argv(line: str) -> list[str]:
    line = line.split(" | ")[0].split("  #")[0]  # a pipe into another tool, a trailing comment
    line = re.sub(r"\[([^\]]*)\]", r"\1", line)  # optional parts, as written
    line = line.replace("<job>", "simulate").replace(" ...", "")
    return shlex.split(line)[1:]


EXAMPLES = flywheel_examples()


def test_the_docs_have_examples_to_check() -> None:
    assert len(EXAMPLES) >= 25, EXAMPLES  # the README's job table alone names every job
    assert any("--json" in line for _, line in EXAMPLES) and any("erase" in line for _, line in EXAMPLES)


@pytest.mark.parametrize(("where", "line"), EXAMPLES, ids=[f"{w}:{line}" for w, line in EXAMPLES])
def test_every_flywheel_command_in_the_docs_parses(where: str, line: str) -> None:
    argv = _argv(line)
    eager = {"--version", "--help"} & set(argv)
    out = CliRunner().invoke(app, argv if eager else [*argv, "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, f"{where}: `{line}` does not parse: {out.output.strip()[-400:]}"


def test_the_config_error_shown_in_the_readme_is_the_one_users_get() -> None:
    (block,) = [b for b in _fenced(_text(REPO / "README.md")) if b.startswith("$ flywheel ingest --set spark.engin")]
    command, shown = block.strip().splitlines()
    override = shlex.split(command)[-1]
    with pytest.raises(ConfigError) as err:
        load_config(REPO / "conf" / "local.yaml", [override])
    assert str(err.value) == shown


def test_the_spark_submit_example_is_what_submit_command_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's line is AWS S3 itself: no endpoint in the environment (the test S3 server sets one for the
    whole session; an endpoint adds the s3a endpoint settings, as the README's comment says)."""
    from socialflywheel.cluster.submit import submit_command

    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)

    (block,) = [b for b in _fenced(_text(REPO / "README.md")) if "spark-submit --master spark://spark-master" in b]
    start = block.index("spark-submit")
    shown = shlex.split(re.sub(r"\s+#[^\n]*", "", block[start:]).replace("\\\n", " "))
    built = submit_command(
        "ingest", master="spark://spark-master:7077", env_archive=REPO / "build" / "executor-env.tar.gz"
    )
    assert [Path(built[0]).name, *(a.replace(f"{REPO}/", "") for a in built[1:])] == shown


def test_every_file_and_make_target_the_docs_name_exists() -> None:
    text = "\n".join(_text(p) for p in DOCS)
    makefile = _text(REPO / "Makefile")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.M))
    named = set(re.findall(r"\bmake ([a-z][a-z0-9-]+)", text)) - {"sure"}
    assert named and named <= targets, named - targets
    kinds = r"(?:py|yaml|conf|xml|sh|sha256|ipynb)"
    paths = set(re.findall(rf"\b((?:jobs|conf|infra|scripts|bench|notebooks)/[\w./-]+\.{kinds})(?![\w.])", text))
    assert len(paths) >= 10 and not [p for p in sorted(paths) if not (REPO / p).exists()]
    for path in sorted((REPO / "conf").glob("*.yaml")):
        load_config(path, [])  # every shipped config validates


def test_make_knows_every_target_the_docs_name() -> None:
    named = set(re.findall(r"\bmake ([a-z][a-z0-9-]+)", "\n".join(_text(p) for p in DOCS))) - {"sure"}
    for target in sorted(named):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, (target, dry.stderr)
