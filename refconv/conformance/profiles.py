"""Hypothesis profiles shared by refconv's property suite, the pytest plugin and campaigns.

- ``ci``: the default when the ``CI`` environment variable is set. Derandomized (the same examples
  every run, so a red CI is reproducible bit for bit), no deadline (shared machines are noisy),
  ``print_blob=True`` (every failure prints the ``@reproduce_failure`` blob), sized so that the
  whole suite stays within a few minutes on 2 cores.
- ``dev``: quick local iterations, random, with the local example database.
- ``thorough``: thousands of examples per property, random, example database on: campaigns.

Select one with ``pytest --hypothesis-profile NAME`` or ``REFCONV_PROFILE=NAME``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILES = ("ci", "dev", "thorough")
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


def register_profiles() -> None:
    """Register the three profiles with hypothesis (idempotent)."""
    settings.register_profile(
        "ci",
        max_examples=40,
        derandomize=True,
        deadline=None,
        print_blob=True,
        database=None,
        suppress_health_check=_SLOW_OK,
    )
    settings.register_profile(
        "dev",
        max_examples=15,
        deadline=None,
        print_blob=True,
        suppress_health_check=_SLOW_OK,
    )
    settings.register_profile(
        "thorough",
        max_examples=2000,
        deadline=None,
        print_blob=True,
        suppress_health_check=_SLOW_OK,
    )


def default_profile() -> str:
    """``REFCONV_PROFILE`` if set, else ``ci`` under CI, else ``dev``."""
    chosen = os.environ.get("REFCONV_PROFILE")
    if chosen:
        if chosen not in PROFILES:
            raise ValueError(f"REFCONV_PROFILE must be one of {PROFILES}, got {chosen!r}")
        return chosen
    return "ci" if os.environ.get("CI") else "dev"


def load_default_profile() -> str:
    register_profiles()
    name = default_profile()
    settings.load_profile(name)
    return name
