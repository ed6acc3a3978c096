"""Bulk builders pause the cyclic garbage collector and give it back as found."""

import gc

import pytest

from crmkit._gc import cyclic_gc_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_then_left_as_it_was(enabled):
    """Inside the block it is off; after, even after an error, it is as before."""
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert enabled == gc.isenabled()
        with pytest.raises(ValueError, match="boom"), cyclic_gc_paused():
            raise ValueError("boom")
        assert enabled == gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
