"""Fixtures that run our own processes (operator, shim) against the test control plane.

The control plane itself comes from tests/conftest.py (`cluster`).
"""
from tests.integration.identities import identities  # noqa: F401
from tests.integration.operator_fixture import *  # noqa: F401,F403
from tests.integration.shim_fixture import *  # noqa: F401,F403
