"""Worker pools sized on queue depth: ceil(depth / factor), clamped to [min, max]."""

from __future__ import annotations

import pytest

from autoscaler import queue_scaling
from autoscaler.queue_scaling import QueueScalingError, desired_workers


def test_the_documented_example_gives_three_workers() -> None:
    assert desired_workers(18, factor=6, minimum=0, maximum=4) == 3


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        pytest.param(0, 0, id="an empty queue needs no worker"),
        pytest.param(1, 1, id="one task needs one worker"),
        pytest.param(6, 1, id="a full worker's share needs one"),
        pytest.param(7, 2, id="one task more rounds up"),
        pytest.param(24, 4, id="exactly max"),
        pytest.param(25, 4, id="beyond max is clamped"),
        pytest.param(10_000, 4, id="a flood is clamped"),
    ],
)
def test_depth_is_rounded_up_and_clamped_to_max(depth: int, expected: int) -> None:
    assert desired_workers(depth, factor=6, minimum=0, maximum=4) == expected


def test_minimum_keeps_workers_on_an_empty_queue() -> None:
    assert desired_workers(0, factor=6, minimum=2, maximum=4) == 2
    assert desired_workers(7, factor=6, minimum=2, maximum=4) == 2
    assert desired_workers(13, factor=6, minimum=2, maximum=4) == 3


def test_equal_minimum_and_maximum_pin_the_pool() -> None:
    assert desired_workers(0, factor=1, minimum=3, maximum=3) == 3
    assert desired_workers(99, factor=1, minimum=3, maximum=3) == 3


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"depth": -1, "factor": 6, "minimum": 0, "maximum": 4},
            queue_scaling.ERR_NEGATIVE.format(name="depth", value=-1),
        ),
        (
            {"depth": 5, "factor": 0, "minimum": 0, "maximum": 4},
            queue_scaling.ERR_FACTOR.format(value=0),
        ),
        (
            {"depth": 5, "factor": 6, "minimum": 5, "maximum": 4},
            queue_scaling.ERR_MIN_ABOVE_MAX.format(minimum=5, maximum=4),
        ),
        (
            {"depth": 5, "factor": 6, "minimum": -2, "maximum": 4},
            queue_scaling.ERR_NEGATIVE.format(name="minimum", value=-2),
        ),
        (
            {"depth": 5.5, "factor": 6, "minimum": 0, "maximum": 4},
            queue_scaling.ERR_NOT_COUNT.format(name="depth", value=5.5),
        ),
        (
            {"depth": 5, "factor": True, "minimum": 0, "maximum": 4},
            queue_scaling.ERR_NOT_COUNT.format(name="factor", value=True),
        ),
    ],
)
def test_arguments_that_describe_no_pool_are_refused(
    arguments: dict[str, int], expected: str
) -> None:
    depth = arguments.pop("depth")

    with pytest.raises(QueueScalingError) as caught:
        desired_workers(depth, **arguments)

    assert str(caught.value) == expected
