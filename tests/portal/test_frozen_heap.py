"""The server's frozen heap: survivors are frozen, garbage is not, and frozen objects that die in
a reference cycle are released on the keeper's release."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from portal.frozen_heap import FrozenHeapKeeper, refreeze


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> Node:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return first


@pytest.fixture(autouse=True)
def _unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.collect()


def test_survivors_are_frozen_and_garbage_is_collected_first() -> None:
    kept = _cycle()
    dropped = weakref.ref(_cycle())  # a cycle no one refers to: garbage
    frozen = refreeze()
    assert dropped() is None, "garbage is collected before the freeze, not frozen with it"
    assert frozen == gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects()), "a survivor is frozen"


def test_a_frozen_cycle_that_dies_is_released_only_on_release() -> None:
    held = [_cycle()]
    refreeze()
    gone = weakref.ref(held.pop())
    refreeze()
    assert gone() is not None, "frozen, the dead cycle is out of the collector's reach"
    refreeze(release=True)
    assert gone() is None


def test_the_keeper_refreezes_and_releases_on_its_own_and_stops() -> None:
    with pytest.raises(ValueError):
        FrozenHeapKeeper(refreeze_s=1.0, release_s=0.5)
    held = [_cycle()]
    keeper = FrozenHeapKeeper(refreeze_s=0.05, release_s=0.3)
    keeper.start()
    try:
        deadline = time.monotonic() + 5
        while any(o is held[0] for o in gc.get_objects()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not any(o is held[0] for o in gc.get_objects()), "refrozen by the keeper"
        gone = weakref.ref(held.pop())
        deadline = time.monotonic() + 5
        while gone() is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert gone() is None, "released by the keeper"
    finally:
        keeper.stop()
    assert not any(t.name == "frozen-heap" for t in threading.enumerate())
