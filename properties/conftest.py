"""Shared setup of the property suite: hypothesis profiles and the implementations under test.

Profiles (refconv.conformance.profiles): ``ci`` when the ``CI`` environment variable is set,
``dev`` otherwise (``REFCONV_PROFILE=NAME`` chooses explicitly). The default is loaded when this
file is imported; ``pytest --hypothesis-profile NAME`` still wins, because hypothesis's plugin
applies its option afterwards (and :func:`pytest_configure` below re-applies it in case this
conftest is imported late).

Every law runs against each implementation of the seed API: ``refconv`` (vectorised) and
``refconv.stepwise`` (the notebook's loops, corrected).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import settings

import refconv
import refconv.stepwise
from refconv.conformance.profiles import default_profile, register_profiles

register_profiles()
settings.load_profile(default_profile())


def pytest_configure(config: pytest.Config) -> None:
    chosen = config.getoption("hypothesis_profile", default=None)
    if chosen:
        settings.load_profile(chosen)


IMPLEMENTATIONS: dict[str, Any] = {"refconv": refconv, "stepwise": refconv.stepwise}

DTYPES = [np.float64, np.float32]


@pytest.fixture(scope="session", params=list(IMPLEMENTATIONS))
def impl(request: pytest.FixtureRequest) -> Any:
    """The implementation under test (session-scoped: hypothesis re-uses it across examples)."""
    return IMPLEMENTATIONS[request.param]


@pytest.fixture(scope="session", params=DTYPES, ids=["float64", "float32"])
def dtype(request: pytest.FixtureRequest) -> type:
    """The floating dtype of every array of the problems."""
    return request.param
