import pytest

from discflow.domain import (
    COPY_LIFECYCLE,
    JOB_LIFECYCLE,
    REQUEST_LIFECYCLE,
    Address,
    CopyState,
    JobState,
    RequestLine,
    RequestState,
)
from discflow.errors import IllegalTransition, InvalidInput

R = RequestState


def test_happy_path_of_a_request() -> None:
    path = [R.RECEIVED, R.QUEUED, R.ASSIGNED, R.BURNING, R.VERIFYING, R.DONE]
    for current, target in zip(path, path[1:], strict=False):
        assert REQUEST_LIFECYCLE.check(current, target) is target
    assert REQUEST_LIFECYCLE.is_terminal(R.DONE)


def test_illegal_move_names_object_state_and_target() -> None:
    with pytest.raises(IllegalTransition, match=r"request r1 cannot go from 'done' to 'queued'"):
        REQUEST_LIFECYCLE.check(R.DONE, R.QUEUED, subject="r1")
    with pytest.raises(IllegalTransition, match="may go to"):
        REQUEST_LIFECYCLE.check(R.QUEUED, R.DONE)


@pytest.mark.parametrize("lifecycle", [REQUEST_LIFECYCLE, JOB_LIFECYCLE, COPY_LIFECYCLE])
def test_every_state_is_in_the_table(lifecycle) -> None:  # type: ignore[no-untyped-def]
    enum = type(lifecycle.initial)
    assert set(lifecycle.moves) == set(enum)
    assert "stateDiagram-v2" in lifecycle.mermaid()


def test_good_copy_is_final() -> None:
    assert COPY_LIFECYCLE.is_terminal(CopyState.GOOD)
    assert JOB_LIFECYCLE.can(JobState.RUNNING, JobState.PAUSED)


def test_address_validation_messages() -> None:
    ok = Address(
        name="Ann", lines=("1 Main St",), city="Springfield", postal_code="1", country="US"
    )
    assert ok.country == "US"
    with pytest.raises(InvalidInput, match="two-letter ISO code"):
        Address(name="Ann", lines=("1 Main St",), city="X", postal_code="1", country="USA")
    with pytest.raises(InvalidInput, match="street line"):
        Address(name="Ann", lines=(), city="X", postal_code="1", country="US")


def test_copies_bounds() -> None:
    assert RequestLine.parse("c", "CD-R", 1000).copies == 1000
    with pytest.raises(InvalidInput, match="between 1 and 1000"):
        RequestLine.parse("c", "CD-R", 0)
