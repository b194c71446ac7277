"""MLflow's console chatter is routed to the log (#19: third-party noise silenced or routed to the log file)."""

from __future__ import annotations

from typing import Any

import pytest


def test_mlflow_chatter_goes_to_the_log_not_the_console(capsys: pytest.CaptureFixture[str], caplog: Any) -> None:
    """#19: registering a model printed MLflow's "Successfully registered ..." and its pickling warning on the
    console of every `flywheel train`; inside quiet_mlflow both go to the log at DEBUG, and errors still show."""
    import logging

    from mlflow.utils.logging_utils import eprint

    from socialflywheel.tracking import quiet_mlflow

    caplog.set_level(logging.DEBUG, logger="socialflywheel")
    with quiet_mlflow():
        eprint("Successfully registered model 'two_tower_retrieval'.")
        logging.getLogger("mlflow.pyfunc").warning("Passing a Python object as `python_model` ...")
        logging.getLogger("mlflow.pyfunc").error("a real failure")
    err = capsys.readouterr().err
    assert "Successfully registered" not in err and "Passing a Python object" not in err
    assert "Successfully registered model" in caplog.text  # kept in the log file, at DEBUG
    assert "a real failure" in err or "a real failure" in caplog.text
    assert logging.getLogger("mlflow").level != logging.ERROR  # restored after
