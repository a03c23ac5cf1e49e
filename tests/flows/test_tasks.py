"""Large values crossing Prefect tasks (flows/tasks.Lent): the flow's del frees them."""

from __future__ import annotations

import gc
import weakref

import pytest

from airwatch.flows.tasks import Lent, compute_task, io_task, stage_flow


class Frame:
    """Stands in for a large frame: what matters is whether anything still refers to it."""


def _load() -> Frame:
    return Frame()


def _size(frame: Lent[Frame]) -> int:
    return id(frame.value) % 7


load = io_task(_load, name="load", lends=True)
size = compute_task(_size, name="size")


@stage_flow(name="lent-values")
def lent_values() -> list[bool]:
    """Whether the frame, returned by one task and passed to two more, is alive once the flow has dropped it."""
    frame = load()  # the flow's first task, as a stage's read is
    returned = weakref.ref(frame)
    lent = Lent(frame)
    [f.result() for f in [size.submit(lent), size.submit(lent)]]
    lent.release()
    del frame
    gc.collect()
    return [returned() is not None]


def test_values_lent_to_and_from_tasks_are_freed_when_the_flow_drops_them(prefect_harness: None) -> None:
    # Without Lent, Prefect's records of the task runs (their contexts, kept by asyncio's timers and the
    # workers started inside the first task) held both for a minute or to the end of the process.
    assert lent_values() == [False]


def test_a_released_value_is_not_used_again() -> None:
    lent = Lent(Frame())
    assert isinstance(lent.take(), Frame)
    with pytest.raises(RuntimeError, match="released"):
        _ = lent.value
