"""The two-tower's optimizer: Adam on the dense layers, a lazy Adam on the id tables' touched rows."""

from __future__ import annotations

from typing import Any

import torch

from socialflywheel.recsys.core.model import TwoTower


class TowerAdam:
    """Adam for the towers; with ``sparse``, :class:`torch.optim.SparseAdam` for the id tables' sparse gradients.

    A step then updates (and keeps moments for) the table rows the batch read, so its cost follows the batch, not
    the number of users and posts; rows a step did not read keep their moments until they are read again (the
    "lazy Adam" of large recommenders). Without ``sparse`` every parameter is in one dense Adam, as before.
    Both share ``lr``, ``eps`` and Adam's betas (SparseAdam adds ``eps`` before the bias correction, Adam after).
    One optimizer's interface for the loop and the checkpoints.
    """

    def __init__(self, model: TwoTower, *, lr: float, sparse: bool, eps: float = 1e-8) -> None:
        model.set_sparse_ids(sparse)
        tables = [t.weight for t in model.id_tables()] if sparse else []
        in_tables = {id(p) for p in tables}
        dense = [p for p in model.parameters() if id(p) not in in_tables]
        # foreach: one kernel per op over all parameters; the CPU default loops over them, ~4x slower
        self.dense = torch.optim.Adam(dense, lr=lr, eps=eps, foreach=True)
        self.sparse = torch.optim.SparseAdam(tables, lr=lr, eps=eps) if tables else None
        self.sparse_params: list[torch.Tensor] = tables  # averaged over ranks outside DDP's reducer

    def zero_grad(self) -> None:
        """Drop every gradient (set to None)."""
        self.dense.zero_grad(set_to_none=True)
        if self.sparse is not None:
            self.sparse.zero_grad(set_to_none=True)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.dense.step()
        if self.sparse is not None:
            self.sparse.step()  # type: ignore[no-untyped-call]

    def state_dict(self) -> dict[str, Any]:
        """Both optimizers' states (a checkpoint's ``optimizer``)."""
        return {"dense": self.dense.state_dict(), "sparse": self.sparse.state_dict() if self.sparse else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave; a checkpoint of the other layout is refused by name."""
        if "dense" not in state or (state["sparse"] is None) != (self.sparse is None):
            want = "sparse" if self.sparse is not None else "dense"
            raise ValueError(
                f"the checkpoint's optimizer does not match this run's {want} id tables "
                "(train.sparse_ids changed since it was written): remove checkpoint.pt or set it back"
            )
        self.dense.load_state_dict(state["dense"])
        if self.sparse is not None:
            self.sparse.load_state_dict(state["sparse"])
