"""Contract-suite fixtures: assert rewriting for the contract module."""

import pytest

pytest.register_assert_rewrite("crmkit.testing.contract")
