"""How refconv's problem strategies draw: :func:`composite`, with a :class:`Draw` that also
makes choices directly.

A problem draws a dozen sizes and a few arrays. Through hypothesis's strategy machinery each
draw costs about 80 us on the benchmark machine (a span, lazy-strategy unwrapping, validation);
a choice made directly on hypothesis's choice sequence costs about 16 us, and checks draw
thousands of problems. :class:`Draw` does both: ``draw(strategy)`` like the ``draw`` of
``hypothesis.strategies.composite``, and ``draw.integer(low, high)``, ``draw.boolean()``,
``draw.bytes(size)`` and ``draw.choice(options)`` straight from the choice sequence. They are the
same choices (integer, boolean, bytes) that ``st.integers(low, high)``, ``st.booleans()``,
``st.binary(min_size=size, max_size=size)`` and ``st.sampled_from(options)`` make, shrink the
same way (towards ``low``, False, zero bytes and the first option), and reach the same
example database entries.

This module and :mod:`refconv.conformance.search` are refconv's only contact with hypothesis's
internal API (``SearchStrategy.do_draw`` and ``ConjectureData``'s choice methods).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.internal.conjecture.utils import calc_label_from_name
from hypothesis.strategies._internal.strategies import SearchStrategy

T = TypeVar("T")


class Draw:
    """The ``draw`` of a :func:`composite` strategy: ``draw(strategy, label=None)`` draws from
    another strategy; the methods make one choice each, directly."""

    __slots__ = ("_data",)

    def __init__(self, data: Any) -> None:
        self._data = data

    def __call__(self, strategy: st.SearchStrategy[T], label: Any = None) -> T:
        return self._data.draw(strategy, label=label)

    def integer(self, low: int, high: int) -> int:
        """An int in ``[low, high]`` (as ``st.integers(low, high)``; shrinks towards ``low``)."""
        return self._data.draw_integer(low, high)

    def boolean(self) -> bool:
        """True or False, evenly (as ``st.booleans()``; shrinks towards False)."""
        return self._data.draw_boolean()

    def bytes(self, size: int) -> bytes:
        """``size`` bytes (as ``st.binary(min_size=size, max_size=size)``; shrinks towards
        zero bytes)."""
        return self._data.draw_bytes(size, size)

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options`` (shrinks towards the first)."""
        return options[self._data.draw_integer(0, len(options) - 1)]


class _Composite(SearchStrategy):
    def __init__(self, function: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self._function = function
        self._args = args
        self._kwargs = kwargs

    def calc_label(self) -> int:
        return calc_label_from_name(f"refconv:{self._function.__qualname__}")

    def do_draw(self, data: Any) -> Any:
        return self._function(Draw(data), *self._args, **self._kwargs)

    def __repr__(self) -> str:
        return f"{self._function.__name__.lstrip('_')}(...)"


def composite(function: Callable[..., T]) -> Callable[..., st.SearchStrategy[T]]:
    """Like ``hypothesis.strategies.composite``, with a :class:`Draw` as the first argument."""

    @functools.wraps(function)
    def strategy(*args: Any, **kwargs: Any) -> st.SearchStrategy[T]:
        return _Composite(function, args, kwargs)

    return strategy
