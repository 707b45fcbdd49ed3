"""lr3 in Metaflow: ``python metaflow_lr3.py run``; start loads, fit fits, end scores."""

from __future__ import annotations

from _common import check_lr3, fit_model, load_data, score_model
from metaflow import FlowSpec, step


class LR3(FlowSpec):  # type: ignore[misc]
    @step  # type: ignore[misc]
    def start(self) -> None:
        self.X, self.y = load_data()
        self.next(self.fit)

    @step  # type: ignore[misc]
    def fit(self) -> None:
        self.model = fit_model(self.X, self.y)
        self.next(self.end)

    @step  # type: ignore[misc]
    def end(self) -> None:
        self.accuracy = score_model(self.model, self.X, self.y)
        check_lr3(self.accuracy)


if __name__ == "__main__":
    LR3()
