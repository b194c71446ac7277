"""One source of truth for the two-tower's hyper-parameters: ``TrainConfig``. Before, ``train()`` defaulted to no
time prior and no id dropout while the product (TrainConfig) used both, so tests trained another model."""

from __future__ import annotations

import inspect

from socialflywheel.config.recsys import TrainConfig
from socialflywheel.recsys.core.train_cli import parser
from socialflywheel.recsys.core.train_loop import train

PRODUCT = TrainConfig()


def test_train_defaults_are_the_products() -> None:
    shared = {
        name: p.default
        for name, p in inspect.signature(train).parameters.items()
        if name in TrainConfig.model_fields and p.default is not inspect.Parameter.empty
    }
    assert {"time_prior", "id_dropout", "epochs", "lr", "batch_size", "embedding_dim"} <= set(shared)
    assert shared == {name: getattr(PRODUCT, name) for name in shared}


def test_command_line_defaults_are_the_products() -> None:
    args = vars(parser().parse_args(["--data", "d", "--out", "o"]))
    shared = {k: v for k, v in args.items() if k in TrainConfig.model_fields and k != "num_threads"}
    assert {"time_prior", "id_dropout", "hidden_dim", "shuffle_buffer"} <= set(shared)
    assert shared == {name: getattr(PRODUCT, name) for name in shared}
    assert vars(parser().parse_args(["--data", "d", "--out", "o", "--no-time-prior"]))["time_prior"] is False
