"""Points from verdicts: the grading file (``--grading FILE``, TOML) and the score of a report.

A grading file says what each function is worth, how a function's points split between its
property classes, whether counterexamples are shown, and the seed::

    seed = 0                      # the exploration's seed (``--seed`` on the command line wins)
    counterexamples = "show"      # "show" | "after_deadline" | "never"

    [points]                      # only these functions are checked and scored
    conv_forward = 2
    conv_backward = 3
    pool_forward = 1
    pool_backward = 2

    [credit]                      # optional: shares of each function's points, by class
    forward_values = 0.8          # the values of a forward function (conv_forward, zero_pad, ...)
    backward_values = 0.8         # the values of a backward function (conv_backward, pool_backward)
    contract = 0.2                # the contract's extras: no advice (README, "The contract")

Defaults (no file, or keys left out): one point per function the submission defines, the
whole of it for the values, counterexamples shown, seed 0.

Scoring (:func:`score`) reads the JSON document of ``refconv check --json`` for one submission:

- a function that passes earns its values share, and its contract share too when the check
  recorded no advice for it;
- a function that fails (or errs) earns nothing: the check stops at its first failure, so no
  other property of it was established;
- a function named in ``[points]`` that the submission does not define earns nothing and
  counts in the maximum; without ``[points]`` an absent function is not scored;
- a document with a load error (``"error"``) scores 0 and is not gradable.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refconv import API_FUNCTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Where counterexamples may be shown: now, after the deadline, never.
VISIBILITIES = ("show", "after_deadline", "never")

#: Every function of every API, in the APIs' order.
_FUNCTIONS = tuple(name for names in API_FUNCTIONS.values() for name in names)

CREDIT_CLASSES = ("forward_values", "backward_values", "contract")
_KEYS = ("seed", "counterexamples", "points", "credit")


@dataclass(frozen=True)
class Scheme:
    """How a submission's verdicts become points.

    Attributes
    ----------
    points : points per function; None for one point per function the submission defines
    credit : weights of the classes ``forward_values``, ``backward_values`` and ``contract``
        (a function's points are split between its values class and ``contract`` in proportion
        to their weights)
    counterexamples : "show", "after_deadline" or "never"
    seed : the exploration's seed, or None for the command line's
    """

    points: Mapping[str, float] | None = None
    credit: Mapping[str, float] = field(
        default_factory=lambda: {"forward_values": 1.0, "backward_values": 1.0, "contract": 0.0}
    )
    counterexamples: str = "show"
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.points is not None:
            if not self.points:
                raise ValueError("points: empty; name at least one function")
            for name, value in self.points.items():
                if name not in _FUNCTIONS:
                    raise ValueError(
                        f"points: unknown function {name!r}; expected one of "
                        + ", ".join(_FUNCTIONS)
                    )
                _check_number(f"points.{name}", value)
            if self.api is None:
                raise ValueError(
                    "points: functions of several APIs ("
                    + ", ".join(sorted(self.points))
                    + "); a grading file grades one API"
                )
        for name, value in self.credit.items():
            if name not in CREDIT_CLASSES:
                raise ValueError(
                    f"credit: unknown class {name!r}; expected one of " + ", ".join(CREDIT_CLASSES)
                )
            _check_number(f"credit.{name}", value)
        for values in ("forward_values", "backward_values"):
            if self._weight(values) + self._weight("contract") <= 0:
                raise ValueError(f"credit: {values} and contract are both 0; nothing to earn")
        if self.counterexamples not in VISIBILITIES:
            raise ValueError(
                f"counterexamples: {self.counterexamples!r}; expected one of "
                + ", ".join(repr(v) for v in VISIBILITIES)
            )
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise TypeError(f"seed: expected an integer, got {self.seed!r}")

    def _weight(self, name: str) -> float:
        default = 0.0 if name == "contract" else 1.0
        return float(self.credit.get(name, default))

    @property
    def functions(self) -> list[str] | None:
        """The functions to check (those given points, in their API's order), or None."""
        if self.points is None:
            return None
        return [name for name in _FUNCTIONS if name in self.points]

    @property
    def api(self) -> str | None:
        """The API whose functions ``points`` names (None without points, or for a mix)."""
        if self.points is None:
            return None
        owners = {api for api, names in API_FUNCTIONS.items() if set(self.points) <= set(names)}
        return next(iter(owners), None)

    def shares(self, function: str) -> dict[str, float]:
        """A function's property classes and the share of its points each carries."""
        # a backward's values are gradients (every API names its backward functions so)
        values = "backward_values" if "backward" in function else "forward_values"
        weights = {values: self._weight(values), "contract": self._weight("contract")}
        total = sum(weights.values())
        return {name: weight / total for name, weight in weights.items() if weight > 0}


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")


def load_scheme(path: str | Path) -> Scheme:
    """Read a grading file (TOML, format in this module's docstring).

    Raises
    ------
    ValueError, TypeError : a malformed file or a bad key or value, naming it
    OSError : the file cannot be read
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}; expected " + ", ".join(_KEYS))
    for table in ("points", "credit"):
        if table in data and not isinstance(data[table], dict):
            raise TypeError(f"{path}: {table} must be a table ([{table}]), got {data[table]!r}")
    kwargs: dict[str, Any] = {
        k: data[k] for k in ("points", "seed", "counterexamples") if k in data
    }
    if "credit" in data:
        kwargs["credit"] = data["credit"]
    try:
        return Scheme(**kwargs)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


@dataclass(frozen=True)
class ClassScore:
    """One property class of one function: its points and whether it was earned."""

    name: str
    points: float
    max_points: float
    earned: bool


@dataclass(frozen=True)
class FunctionScore:
    """One function's verdict and points.

    ``result`` is the function's entry of the JSON document (status, message, diagnosis,
    counterexample, advice...); None when it is not in the document (a load error).
    """

    function: str
    status: str
    points: float
    max_points: float
    classes: tuple[ClassScore, ...]
    result: dict[str, Any] | None

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass(frozen=True)
class Score:
    """A submission's points.

    ``gradable`` is False when the target could not be loaded (``error`` says why); then
    ``total`` is 0.
    """

    target: str
    total: float
    max_total: float
    functions: tuple[FunctionScore, ...]
    gradable: bool = True
    error: str | None = None

    @property
    def fraction(self) -> float:
        """total / max_total in [0, 1] (0 when nothing was scored)."""
        return self.total / self.max_total if self.max_total > 0 else 0.0


def score(document: Mapping[str, Any], scheme: Scheme | None = None) -> Score:
    """The points a ``refconv check --json`` document earns under ``scheme`` (default scheme:
    one point per defined function)."""
    scheme = scheme or Scheme()
    target = str(document.get("target", "?"))
    results = {r.get("function"): r for r in document.get("results", []) if isinstance(r, dict)}
    error = document.get("error")
    if scheme.points is not None:
        names = scheme.functions or []
    else:
        names = [
            n
            for n, r in results.items()
            if isinstance(n, str) and r.get("status", "missing") != "missing"
        ]
    functions = []
    for name in names:
        result = results.get(name)
        status = "error" if error else (result or {}).get("status", "missing")
        worth = float(scheme.points[name]) if scheme.points is not None else 1.0
        classes = []
        for cls, share in scheme.shares(name).items():
            earned = status == "pass" and (cls != "contract" or not (result or {}).get("advice"))
            # Rounded: a 0.8/0.2 split must add back to the whole points, not 3.0000000000000004.
            most = round(worth * share, 9)
            classes.append(ClassScore(cls, most if earned else 0.0, most, earned))
        functions.append(
            FunctionScore(
                name,
                status,
                round(sum(c.points for c in classes), 9),
                worth,
                tuple(classes),
                None if error else result,
            )
        )
    total = round(sum(f.points for f in functions), 9)
    return Score(
        target,
        0.0 if error else total,
        round(sum(f.max_points for f in functions), 9),
        tuple(functions),
        gradable=not error,
        error=str(error) if error else None,
    )
