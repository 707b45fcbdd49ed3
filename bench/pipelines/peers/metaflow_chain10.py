"""chain10 in Metaflow: ``python metaflow_chain10.py run`` (local datastore and metadata).

Ten steps (Metaflow needs ``start`` and ``end``): start makes the array, eight
middle steps and ``end`` each add one; ``end`` checks the sum.
"""

from __future__ import annotations

import numpy as np
from _common import check_chain10
from metaflow import FlowSpec, step


class Chain10(FlowSpec):  # type: ignore[misc]
    @step  # type: ignore[misc]
    def start(self) -> None:
        self.x = np.arange(100.0)
        self.next(self.inc1)

    @step  # type: ignore[misc]
    def inc1(self) -> None:
        self.x = self.x + 1
        self.next(self.inc2)

    @step  # type: ignore[misc]
    def inc2(self) -> None:
        self.x = self.x + 1
        self.next(self.inc3)

    @step  # type: ignore[misc]
    def inc3(self) -> None:
        self.x = self.x + 1
        self.next(self.inc4)

    @step  # type: ignore[misc]
    def inc4(self) -> None:
        self.x = self.x + 1
        self.next(self.inc5)

    @step  # type: ignore[misc]
    def inc5(self) -> None:
        self.x = self.x + 1
        self.next(self.inc6)

    @step  # type: ignore[misc]
    def inc6(self) -> None:
        self.x = self.x + 1
        self.next(self.inc7)

    @step  # type: ignore[misc]
    def inc7(self) -> None:
        self.x = self.x + 1
        self.next(self.inc8)

    @step  # type: ignore[misc]
    def inc8(self) -> None:
        self.x = self.x + 1
        self.next(self.end)

    @step  # type: ignore[misc]
    def end(self) -> None:
        self.x = self.x + 1
        check_chain10(self.x)


if __name__ == "__main__":
    Chain10()
