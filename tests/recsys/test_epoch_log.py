"""The train loop logs one line per epoch (rank 0), and `flywheel`'s logging sends it to stderr."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.embed import make_val_fn
from socialflywheel.recsys.core.train_loop import train

LOGGER = "socialflywheel.recsys.core.train_loop"
LINE = re.compile(
    r"epoch (\d+)/(\d+): train loss (\d+\.\d+), val recall@50 (\d\.\d{4}), ([\d,]+) examples/s, "
    r"epoch (\d+\.\d)s \(validation (\d+\.\d)s\), elapsed (\d+\.\d)s"
)


def test_one_line_per_epoch_with_the_history_figures(
    planted: tuple[Path, DatasetMeta],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, meta = planted
    monkeypatch.setenv("FLYWHEEL_PROGRESS", "plain")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        result = train(
            shards_dir=root / "train",
            meta=meta,
            out_dir=tmp_path / "run",
            epochs=2,
            batch_size=256,
            embedding_dim=16,
            hidden_dim=32,
            num_threads=1,
            val_fn=make_val_fn(root, meta),
            seed=7,
        )
    lines = [r for r in caplog.records if r.name == LOGGER and r.message.startswith("epoch ")]
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO]
    matches = [LINE.fullmatch(r.message) for r in lines]
    assert all(matches), [r.message for r in lines]
    for n, (m, epoch) in enumerate(zip(matches, result.history, strict=True), start=1):
        assert m is not None
        assert (int(m[1]), int(m[2])) == (n, 2)
        assert m[3] == f"{epoch['train_loss']:.4f}"
        assert m[4] == f"{epoch['recall@50']:.4f}"
        assert int(m[5].replace(",", "")) > 0 and float(m[6]) >= float(m[7])
    elapsed = [float(m[8]) for m in matches if m is not None]
    assert elapsed[1] >= elapsed[0] > 0  # seconds since training started, growing
    # and the steps' progress, per epoch, on stderr: every example of the epoch counted, with a rate
    out, err = capsys.readouterr()
    assert "examples" not in out
    done = re.findall(
        r"train epoch (\d)/2: done, ([\d,]+)/([\d,]+) examples \(100%\) in [\d:]+ \(([\d,]+) examples/s\)", err
    )
    assert [d[0] for d in done] == ["1", "2"], err
    assert all(d[1] == d[2] and int(d[1].replace(",", "")) % 256 == 0 and int(d[3].replace(",", "")) > 0 for d in done)


def test_the_cli_logging_sends_the_line_to_stderr_not_stdout() -> None:
    """`flywheel train` logs through setup_logging: the epoch line must not mix into stdout (summaries, JSON)."""
    code = (
        "import logging; from socialflywheel.cli import setup_logging; setup_logging(); "
        f"logging.getLogger({LOGGER!r}).info('epoch 1/2: train loss 1.0000')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "epoch 1/2: train loss 1.0000" in out.stderr and out.stdout == ""
    # --quiet (FLYWHEEL_PROGRESS=off, inherited by torchrun's ranks): the epoch line goes, warnings stay
    code += f"; logging.getLogger({LOGGER!r}).warning('validation set is empty')"
    env = {**os.environ, "FLYWHEEL_PROGRESS": "off"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env)
    assert "epoch 1/2" not in out.stderr and "WARNING validation set is empty" in out.stderr and out.stdout == ""
