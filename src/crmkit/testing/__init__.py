"""
Helpers for testing applications built on crmkit.

`FixedClock` and `ManualClock` stand in for `crmkit.clock.SystemClock`.
Hypothesis strategies for every value and entity live in `crmkit.testing.strategies`
(it needs ``pip install 'crmkit[testing]'``).
"""

from crmkit import _public
from crmkit.testing._clocks import FixedClock, ManualClock

__all__ = ["FixedClock", "ManualClock"]

_public.publish(globals(), __all__)
