"""Run a federated app on Flower's simulation runtime (in the Flower venv).

Usage::

    FLYWHEEL_FL_ROOT=/path/run .venv-flower/bin/python -m socialflywheel.federated.sim trends --clients 5000

Each simulated SuperNode is one client (``partition-id`` 0 .. n - 1, the numbering of
:mod:`~socialflywheel.federated.partition`); Ray runs the ClientApps on ``--cpus`` cores.
"""

from __future__ import annotations

import argparse
import importlib
import os

APPS = {
    "trends": "socialflywheel.federated.trend_apps",
    "trends-secagg": "socialflywheel.federated.secagg_apps",
    "twotower": "socialflywheel.federated.twotower_apps",
}


def main(argv: list[str] | None = None) -> None:
    """Command line: run the named app's ServerApp against ``--clients`` simulated SuperNodes."""
    p = argparse.ArgumentParser(description="federated app on Flower's simulation runtime")
    p.add_argument("app", choices=sorted(APPS))
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="cores Ray may use")
    a = p.parse_args(argv)
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    from flwr.simulation import run_simulation

    mod = importlib.import_module(APPS[a.app])
    run_simulation(
        server_app=mod.server,
        client_app=mod.client,
        num_supernodes=a.clients,
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": a.cpus, "include_dashboard": False, "log_to_driver": False},
        },
    )


if __name__ == "__main__":
    main()
