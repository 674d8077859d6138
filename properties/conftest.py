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


def _parametrized_by_mark(metafunc: pytest.Metafunc, name: str) -> bool:
    """Whether the test's own ``@pytest.mark.parametrize`` already supplies ``name``."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if isinstance(names, str):
            names = [part.strip() for part in names.split(",")]
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that takes ``impl`` (the implementation under test) for each of
    :data:`IMPLEMENTATIONS`, and each that takes ``dtype`` (the floating dtype of every array of
    the problems) for each of :data:`DTYPES`.

    Direct parametrization rather than parametrized fixtures: HypoFuzz (``hypothesis fuzz``)
    cannot resolve the value of a parametrized fixture and crashes its worker, whereas it passes
    direct parameters to the test itself. The tests and their ids are those of the former
    fixtures; only pytest's grouping of the collected tests (their run order) differs.
    """
    if "impl" in metafunc.fixturenames and not _parametrized_by_mark(metafunc, "impl"):
        metafunc.parametrize(
            "impl", list(IMPLEMENTATIONS.values()), ids=list(IMPLEMENTATIONS), scope="session"
        )
    if "dtype" in metafunc.fixturenames and not _parametrized_by_mark(metafunc, "dtype"):
        metafunc.parametrize("dtype", DTYPES, ids=["float64", "float32"], scope="session")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Key every hypothesis test's examples in the database by its pytest node id.

    Hypothesis's pytest plugin does so only for tests it sees as parametrized (which misses
    parametrization from :func:`pytest_generate_tests`: float32 and float64 would then share one
    key); HypoFuzz does so for every test. With the same key everywhere, each parametrization
    keeps its own examples and a plain ``pytest`` run replays the failures that
    ``hypothesis fuzz`` saved.
    """
    test = getattr(item, "obj", None)
    inner = getattr(getattr(test, "hypothesis", None), "inner_test", None)
    if inner is not None:
        inner._hypothesis_internal_add_digest = item.nodeid.encode()
