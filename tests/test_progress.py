"""Progress goes to stderr only: plain lines off a terminal (counts, rate, ETA), a rich bar on one, nothing quiet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel import progress

FLYWHEEL = Path(sys.executable).parent / "flywheel"
LINE = re.compile(r"\[\d\d:\d\d:\d\d\] (?P<what>.+): (?P<text>(?:(?!: ).)+)")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(progress, "_clock", c)
    return c


def _texts(err: str) -> list[str]:
    lines = err.splitlines()
    assert all(LINE.fullmatch(ln) for ln in lines), lines
    return [m["text"] for ln in lines if (m := LINE.fullmatch(ln))]


def test_plain_lines_count_rate_and_eta(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    monkeypatch.setenv(progress.ENV, "plain")
    with progress.task("ingest", total=1000, unit="lines") as bar:
        for _ in range(4):
            clock.now += 10.0  # 250 lines per 10 s: a line every 15 s at most
            bar.advance(250)
    out, err = capsys.readouterr()
    assert out == ""
    assert _texts(err) == [
        "started, 1,000 lines to do",
        "500/1,000 lines (50%) (25 lines/s, ETA 0:00:20)",
        "done, 1,000/1,000 lines (100%) in 0:00:40 (25 lines/s)",
    ]


def test_a_resumed_task_counts_what_was_done_before_but_not_in_its_rate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    monkeypatch.setenv(progress.ENV, "plain")
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)
    with progress.task("train epoch 2/3", total=100, unit="examples", completed=60) as bar:
        clock.now += 4.0
        bar.advance(20)
        clock.now += 4.0
        bar.advance(20)
    texts = _texts(capsys.readouterr().err)
    assert texts == [
        "started, 100 examples to do",
        "80/100 examples (80%) (5 examples/s, ETA 0:00:04)",
        "done, 100/100 examples (100%) in 0:00:08 (5 examples/s)",
    ]


@given(
    total=st.integers(1, 10**9),
    steps=st.lists(st.tuples(st.floats(0.0, 100.0), st.integers(0, 10**8)), max_size=30),
    unit=st.sampled_from(["lines", "examples", "bytes"]),
)
@settings(max_examples=200, deadline=None)
def test_any_sequence_of_advances_gives_well_formed_lines_ending_in_one_verdict(
    total: int, steps: list[tuple[float, int]], unit: str
) -> None:
    """Whatever the amounts and pauses: every line parses, counts never go down, exactly one closing line."""
    lines: list[str] = []
    clock = Clock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(progress.ENV, "plain")
        mp.setattr(progress, "_clock", clock)
        mp.setattr(progress.sys, "stderr", _Collect(lines))
        with progress.task("job", total=total, unit=unit) as bar:
            for pause, n in steps:
                clock.now += pause
                bar.advance(n)
    texts = [m["text"] for ln in lines if (m := LINE.fullmatch(ln.rstrip("\n")))]
    assert len(texts) == len(lines) >= 2
    assert texts[0].startswith("started, ") and texts[-1].startswith("done, ")
    assert sum(t.startswith(("started", "done")) for t in texts) == 2
    shares = [int(m[1]) for t in texts if (m := re.search(r"\((\d+)%\)", t))]
    assert shares == sorted(shares)
    assert all("ETA" not in t or re.search(r"ETA \d+:\d\d:\d\d\)$", t) for t in texts)


class _Collect:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_off_prints_nothing_and_a_failed_task_says_it_stopped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.ENV, "off")
    with progress.task("graph", total=9) as bar:
        bar.advance(9)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setenv(progress.ENV, "plain")
    with pytest.raises(RuntimeError, match="boom"):
        _fail_inside(progress.task("graph", total=9))
    assert _texts(capsys.readouterr().err)[-1].startswith("stopped (RuntimeError), 0/9 steps (0%) in ")


def test_rich_bars_nest_on_stderr_and_close_even_on_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.ENV, "rich")
    with progress.task("demo", total=2, unit="jobs") as outer:
        for job in ("ingest", "features"):
            outer.describe(f"demo: {job}")
            with progress.task(job, total=500, unit="lines") as inner:
                inner.advance(500)
            outer.advance()
    out, err = capsys.readouterr()
    assert out == ""
    assert "demo: features" in err and "2/2" in err and "jobs" in err
    assert "500/500" not in err.splitlines()[-1]  # a nested task leaves the display when it ends
    assert progress._live is None
    with pytest.raises(ValueError, match="bad row"), progress.task("outer", total=3):
        _fail_inside(progress.task("inner", total=3), ValueError("bad row"))
    assert progress._live is None and progress._open == 0


def _fail_inside(task: progress.Task, exc: Exception | None = None) -> None:
    with task as bar:
        bar.describe(f"{bar.description}: first step")
        raise exc or RuntimeError("boom")


def test_a_bad_mode_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.ENV, "loud")
    with pytest.raises(ValueError, match=r"FLYWHEEL_PROGRESS='loud' is not a progress mode: use one of auto, rich"):
        progress.mode()


def test_auto_is_plain_off_a_terminal_and_quiet_is_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.mode() == "plain"  # pytest's captured stderr is no terminal
    progress.set_quiet(True)
    code = "from socialflywheel import progress; print(progress.mode())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert child.stdout.strip() == "off"  # torchrun's ranks and spark-submit's driver see --quiet too
    progress.set_quiet(False)
    assert progress.mode() == "plain"


@pytest.mark.slow
def test_cli_ingest_shows_progress_on_stderr_and_quiet_shows_none(tmp_path: Path) -> None:
    """`flywheel ingest` counts lines on stderr; `flywheel --quiet ingest --json` no progress, the figures as JSON."""
    outs = {}
    for quiet in (False, True):
        work = tmp_path / ("quiet" if quiet else "loud")
        sets = ["--set", f"work_dir={work}", "--set", "simulate.profile=tiny"]
        flags = ["--quiet"] if quiet else []
        for job in ("simulate", "ingest"):
            as_json = ["--json"] if quiet and job == "ingest" else []
            outs[quiet, job] = subprocess.run(
                [str(FLYWHEEL), *flags, job, *sets, *as_json], capture_output=True, text=True, timeout=300
            )
            assert outs[quiet, job].returncode == 0, outs[quiet, job].stderr
    loud, quiet_run = outs[False, "ingest"], outs[True, "ingest"]
    done = re.search(r"ingest batch \d+/\d+: done, ([\d,]+)/([\d,]+) lines \(100%\) in \d+:\d\d:\d\d", loud.stderr)
    assert done is not None, loud.stderr
    assert done[1] == done[2] and int(done[1].replace(",", "")) > 0
    assert "lines to do" not in loud.stdout and "done," not in loud.stdout
    assert "lines to do" not in quiet_run.stderr and "done," not in quiet_run.stderr
    assert "landing files" not in quiet_run.stderr  # INFO log lines are off too
    logged = [ln for ln in loud.stderr.splitlines() if " INFO " in ln]
    assert logged and all(re.match(r"\[\d\d:\d\d:\d\d\] INFO \S", ln) for ln in logged)  # piped: one line each
    # --json: stdout is one JSON array, an object per job run (ingest, then conform), and nothing else
    ingested, conformed = json.loads(quiet_run.stdout)
    assert (ingested["job"], conformed["job"]) == ("ingest", "conform")
    assert re.fullmatch(r"[0-9a-f]{32}", ingested["run_id"]) and ingested["reconciled"] is True
    assert "bronze.events" in ingested["versions_written"]
    rows = re.search(r"rows_in\W+([\d,]+)", loud.stdout)
    assert rows is not None and int(rows[1].replace(",", "")) == ingested["rows_in"] > 0
