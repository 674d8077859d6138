"""The judge/executor protocol: length-prefixed frames and a value codec without pickle.

A frame is ``>II`` (header length, buffer count), a UTF-8 JSON header, then each buffer as
``>Q`` length + bytes. Values are encoded as JSON trees whose arrays point at raw buffers:

===========  =====================================================================
``t``        meaning
===========  =====================================================================
``nd``       ``numpy.ndarray``: ``dtype`` (e.g. ``"<f8"``), ``shape``, ``buf``
``np``       NumPy scalar: same fields, rebuilt as ``arr[()]``
``float``    Python float, as ``float.hex`` (exact, NaN and inf included)
``int``      Python int, as decimal text
``bool``, ``none``, ``str``
``tuple``, ``list``, ``dict``   containers (``items``; a dict's are ``[key, value]`` pairs)
``obj``      anything else: its type name and a shortened ``repr`` (never the object)
``ref``      judge to executor only: element ``index`` of the last result of ``function``
===========  =====================================================================

:func:`decode` is what the judge runs on data from the untrusted side, so it trusts nothing:
the dtype must be a plain boolean, integer, float or complex type, shapes and sizes must agree,
containers are bounded in depth and length, and every array is rebuilt as a fresh
``np.array(..., copy=True)`` owned by the judge. A malformed frame raises
:class:`ProtocolError`. Nothing received is ever executed or unpickled.

Standard library and NumPy only; parses as Python 3.8 (see the package docstring).
"""

from __future__ import annotations

import json
import os
import re
import select
import struct
import time
from typing import Any

import numpy as np

#: Largest header and largest total of buffers one frame may carry (a target returning a huge
#: array fails with a protocol error instead of exhausting the judge's memory).
MAX_HEADER_BYTES = 16 * 2**20
MAX_FRAME_BYTES = 256 * 2**20
MAX_BUFFERS = 4096
#: Bounds on what a value may look like.
MAX_DEPTH = 8
MAX_ITEMS = 256
MAX_TEXT = 20000
MAX_NDIM = 32

_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|c(8|16))")
_INT = re.compile(r"-?[0-9]{1,4000}")
MAX_INT_DIGITS = 4000
MAX_ELEMENTS = 2**40


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame or value."""


class Closed(ProtocolError):
    """The other side closed its end (the process exited or was killed)."""


class Deadline(Exception):
    """No complete frame arrived before the deadline."""


# --- framing


def pack(header: dict, buffers: list) -> bytes:
    """One frame holding ``header`` (JSON-able) and raw ``buffers``."""
    text = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    parts = [struct.pack(">II", len(text), len(buffers)), text]
    for buffer in buffers:
        parts.append(struct.pack(">Q", len(buffer)))
        parts.append(bytes(buffer))
    return b"".join(parts)


def write_frame(fd: int, header: dict, buffers: list, deadline: float | None = None) -> None:
    """Write a whole frame to ``fd``; with a ``deadline`` (``time.monotonic``), never block past
    it (a peer that stops reading cannot hang the writer): raise :class:`Deadline`."""
    data = memoryview(pack(header, buffers))
    while data:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Deadline("the peer did not read the request in time")
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                continue
        try:
            written = os.write(fd, data[: 1 << 16] if deadline is not None else data)
        except BrokenPipeError:
            raise Closed("the peer closed its end") from None
        data = data[written:]


class Reader:
    """Reads frames from ``fd``, optionally against a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = bytearray()

    def _fill(self, size: int, deadline: float | None) -> bytes:
        while len(self.pending) < size:
            if deadline is not None:
                # Past the deadline, what already arrived is still read (the reader may have
                # been busy): only waiting for more is refused.
                remaining = max(deadline - time.monotonic(), 0.0)
                ready, _, _ = select.select([self.fd], [], [], remaining)
                if not ready:
                    if remaining <= 0:
                        raise Deadline("no answer in time")
                    continue
            chunk = os.read(self.fd, max(size - len(self.pending), 1 << 16))
            if not chunk:
                raise Closed("the peer closed its end")
            self.pending.extend(chunk)
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def read_line(self, deadline: float | None = None, limit: int = 64) -> str:
        """One short text line (without its newline)."""
        data = b""
        while not data.endswith(b"\n"):
            data += self._fill(1, deadline)
            if len(data) > limit:
                raise ProtocolError("line too long")
        return data.decode("ascii", "replace").strip()

    def read(self, deadline: float | None = None) -> tuple[dict, list]:
        """The next frame as ``(header, buffers)``."""
        length, count = struct.unpack(">II", self._fill(8, deadline))
        if length > MAX_HEADER_BYTES or count > MAX_BUFFERS:
            raise ProtocolError(f"frame too large: header {length} bytes, {count} buffers")
        try:
            header = json.loads(self._fill(length, deadline).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ProtocolError(f"unreadable frame header: {exc}") from None
        if not isinstance(header, dict):
            raise ProtocolError("frame header is not an object")
        buffers, total = [], 0
        for _ in range(count):
            (size,) = struct.unpack(">Q", self._fill(8, deadline))
            total += size
            if total > MAX_FRAME_BYTES:
                raise ProtocolError(f"frame larger than {MAX_FRAME_BYTES} bytes")
            buffers.append(self._fill(size, deadline))
        return header, buffers


# --- values


def _array_node(kind: str, array: np.ndarray, buffers: list) -> dict:
    buffers.append(np.ascontiguousarray(array).tobytes())
    return {
        "t": kind,
        "dtype": array.dtype.str,
        "shape": [int(n) for n in array.shape],
        "buf": len(buffers) - 1,
    }


def _layout_node(array: np.ndarray, buffers: list) -> dict:
    """An array with its exact memory layout: strides, offset and writeability travel, with
    the bytes the view spans (a Fortran-ordered array, a slice with gaps, negative strides, a
    read-only array arrive as such)."""
    import ctypes

    low = sum((n - 1) * s for n, s in zip(array.shape, array.strides) if s < 0)
    high = sum((n - 1) * s for n, s in zip(array.shape, array.strides) if s > 0)
    pointer = array.__array_interface__["data"][0]
    buffers.append(ctypes.string_at(pointer + low, high - low + array.itemsize))
    return {
        "t": "nd",
        "dtype": array.dtype.str,
        "shape": [int(n) for n in array.shape],
        "buf": len(buffers) - 1,
        "layout": {
            "strides": [int(s) for s in array.strides],
            "offset": int(-low),
            "writeable": bool(array.flags.writeable),
        },
    }


def layout_state(array: np.ndarray) -> tuple:
    """``(node, bytes)``: plain data that :func:`from_layout_state` turns back into an array
    with the same values, strides, offset and writeability (pickling a view loses those)."""
    buffers: list = []
    array = np.asarray(array)
    node = _layout_node(array, buffers) if array.size else _array_node("nd", array, buffers)
    return node, buffers[0]


def from_layout_state(node: dict, data: bytes) -> np.ndarray:
    """The array of :func:`layout_state` (trusted data only: the judge's own)."""
    return _array(node, [data], layouts=True)


def clone_layout(array: np.ndarray) -> np.ndarray:
    """A fresh array with the same values *and* memory layout as ``array`` (a copy that
    ``ndarray.copy`` would make C-contiguous keeps its strides here)."""
    return from_layout_state(*layout_state(array))


def _type_name(value: Any) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", getattr(cls, "__name__", "?"))
    return name if module == "builtins" else f"{module}.{name}"


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not break encoding
        text = "<repr failed>"
    return text if len(text) <= 300 else text[:297] + "..."


def encode(value: Any, buffers: list, depth: int = 0, layouts: bool = False) -> dict:
    """The JSON tree of ``value``; array data is appended to ``buffers``.

    With ``layouts`` (the judge sending arguments), arrays that are not plain writeable
    C-contiguous arrays keep their memory layout (see :func:`clone_layout`).
    """
    if isinstance(value, np.ndarray):
        array = np.asarray(value)  # an ndarray subclass travels as its plain data
        plain = array.flags.c_contiguous and array.flags.writeable
        if layouts and not plain and array.size and _DTYPE.fullmatch(array.dtype.str):
            return _layout_node(array, buffers)
        if _DTYPE.fullmatch(array.dtype.str):
            node = _array_node("nd", array, buffers)
            if type(value) is not np.ndarray:
                node["cls"] = _type_name(value)
            return node
        return {"t": "obj", "type": f"ndarray of dtype {array.dtype}", "repr": _short_repr(value)}
    if isinstance(value, np.generic):
        array = np.asarray(value)
        if _DTYPE.fullmatch(array.dtype.str):
            return _array_node("np", array, buffers)
        return {"t": "obj", "type": _type_name(value), "repr": _short_repr(value)}
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, int):
        try:
            text = str(int(value))
        except ValueError:  # more digits than int->str allows
            text = ""
        if 0 < len(text.lstrip("-")) <= MAX_INT_DIGITS:
            return {"t": "int", "v": text}
        return {"t": "obj", "type": _type_name(value), "repr": "<huge int>"}
    if isinstance(value, float):
        return {"t": "float", "v": float(value).hex()}
    if isinstance(value, str):
        return {"t": "str", "v": str(value)[:MAX_TEXT]}
    if depth < MAX_DEPTH:
        if isinstance(value, (tuple, list)) and len(value) <= MAX_ITEMS:
            kind = "tuple" if isinstance(value, tuple) else "list"
            items = [encode(v, buffers, depth + 1, layouts) for v in value]
            return {"t": kind, "items": items}
        if isinstance(value, dict) and len(value) <= MAX_ITEMS:
            items = [
                [encode(k, buffers, depth + 1), encode(v, buffers, depth + 1, layouts)]
                for k, v in list(value.items())
            ]
            return {"t": "dict", "items": items}
    return {"t": "obj", "type": _type_name(value), "repr": _short_repr(value)}


class Foreign:
    """Stands in, on the judge's side, for an object of the target's that has no plain-data
    form: only its type name and a shortened ``repr`` travel."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return self.text


class Ref:
    """Element ``index`` of the last result of ``function`` in the executor (a forward's
    cache handed to the backward without leaving the executor)."""

    __slots__ = ("function", "index")

    def __init__(self, function: str, index: int) -> None:
        self.function = function
        self.index = index


def encode_ref(ref: Ref) -> dict:
    return {"t": "ref", "function": ref.function, "index": ref.index}


def _text(node: dict, key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ProtocolError(f"bad {key!r} field")
    return value


def _array(node: dict, buffers: list, layouts: bool = False) -> np.ndarray:
    dtype, shape, index = node.get("dtype"), node.get("shape"), node.get("buf")
    if not isinstance(dtype, str) or not _DTYPE.fullmatch(dtype):
        raise ProtocolError(f"array of unsupported dtype {dtype!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)
    ):
        raise ProtocolError(f"bad array shape {shape!r}"[:200])
    if type(index) is not int or not 0 <= index < len(buffers):
        raise ProtocolError("array refers to a missing buffer")
    dt = np.dtype(dtype)
    data = buffers[index]
    if "layout" in node:
        if not layouts:  # only the judge sends layouts, to the executor
            raise ProtocolError("unexpected array layout")
        layout = node["layout"]
        try:
            array = np.ndarray(
                tuple(shape),
                dtype=dt,
                buffer=bytearray(data),
                offset=layout["offset"],
                strides=tuple(layout["strides"]),
            )
            array.flags.writeable = bool(layout["writeable"])
        except (TypeError, ValueError, KeyError) as exc:
            raise ProtocolError(f"bad array layout: {exc}") from None
        return array
    size = 1
    for n in shape:
        size *= n
    if size * dt.itemsize != len(data):
        raise ProtocolError(f"array of shape {shape} and dtype {dtype} with {len(data)} bytes")
    try:
        return np.array(np.frombuffer(data, dtype=dt).reshape(shape), copy=True)
    except ValueError as exc:  # dimensions NumPy cannot represent
        raise ProtocolError(f"bad array: {exc}") from None


def decode(node: Any, buffers: list, depth: int = 0, refs: Any = None) -> Any:
    """The value of a tree made by :func:`encode`; see the module docstring for the checks.

    ``refs`` resolves ``ref`` nodes, and allows array layouts (executor side only); without it
    both are rejected.
    """
    if not isinstance(node, dict) or depth > MAX_DEPTH + 1:
        raise ProtocolError("malformed value")
    kind = node.get("t")
    if kind == "nd":
        return _array(node, buffers, layouts=refs is not None)
    if kind == "np":
        return _array(node, buffers)[()]
    if kind == "none":
        return None
    if kind == "bool":
        value = node.get("v")
        if type(value) is not bool:
            raise ProtocolError("bad bool")
        return value
    if kind == "int":
        text = _text(node, "v")
        if not _INT.fullmatch(text):
            raise ProtocolError("bad int")
        return int(text)
    if kind == "float":
        try:
            return float.fromhex(_text(node, "v"))
        except (ValueError, OverflowError):
            raise ProtocolError("bad float") from None
    if kind == "str":
        return _text(node, "v")
    if kind in ("tuple", "list", "dict"):
        items = node.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ProtocolError("bad container")
        if kind == "dict":
            pairs = []
            for pair in items:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict item")
                key = decode(pair[0], buffers, depth + 1, refs)
                if not isinstance(key, (str, int, float, bool, type(None))):
                    key = repr(key)
                pairs.append((key, decode(pair[1], buffers, depth + 1, refs)))
            return dict(pairs)
        values = [decode(v, buffers, depth + 1, refs) for v in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "obj":
        return Foreign(_text(node, "type")[:200], _text(node, "repr")[:300])
    if kind == "ref" and refs is not None:
        return refs(node.get("function"), node.get("index"))
    raise ProtocolError(f"unknown value kind {kind!r}")


#: An argument whose name ends with this is passed by keyword (``("stride=", 2)``).
KEYWORD = "="


def positional(args: list[tuple[str, Any]]) -> list[Any]:
    """The values of a call's ``(name, value)`` arguments that are passed by position."""
    return [value for name, value in args if not name.endswith(KEYWORD)]


def keywords(args: list[tuple[str, Any]]) -> dict[str, Any]:
    """The arguments passed by keyword, by name (``("stride=", 2)`` -> ``{"stride": 2}``)."""
    return {name[: -len(KEYWORD)]: value for name, value in args if name.endswith(KEYWORD)}
