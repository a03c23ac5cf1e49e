"""How flows batch side-by-side work into task runs."""

from __future__ import annotations

import itertools

import pytest

from airwatch.flows.runners import in_order, side_by_side


def test_a_refit_is_two_batches_on_two_workers_that_end_close_together() -> None:
    # The nine models of a LightGBM refit: each horizon's point model (500 rounds) and two quantiles (100).
    jobs = [(h, part, 500 if part == "point" else 100) for h in (1, 2, 3) for part in ("point", "lower", "upper")]
    batches = side_by_side(jobs, 2, cost=lambda j: j[2])
    assert len(batches) == 2 and sorted(itertools.chain(*batches)) == sorted(jobs)
    loads = sorted(sum(j[2] for j in b) for b in batches)
    assert loads == [1000, 1100]  # one job per task, two threads in submission order: 1200


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
@pytest.mark.parametrize("n", [0, 1, 4, 9])
def test_results_come_back_in_the_items_order(workers: int, n: int) -> None:
    items = [f"item{i}" for i in range(n)]
    batches = side_by_side(items, workers, cost=lambda s: len(s) + items.index(s) % 3)
    assert len(batches) == min(workers, n)
    assert all(batches)
    assert in_order(items, batches, [[s.upper() for s in b] for b in batches]) == [s.upper() for s in items]


def test_equal_costs_keep_their_order_within_a_batch() -> None:
    assert side_by_side(["a", "b", "c", "d", "e"], 2, cost=lambda _: 1.0) == [["a", "c", "e"], ["b", "d"]]
