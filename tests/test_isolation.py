"""The executor boundary: the wire codec the judge trusts, and :class:`IsolatedTarget`.

The first half feeds :mod:`refconv._executor.wire` well-formed values (they must come back equal,
as plain judge-owned data) and malformed ones (they must be a :class:`wire.ProtocolError`). The
second half runs small targets written here in a real executor: values, exceptions, prints and
mutations come back as plain data; timeouts, exits and crashes become outcomes, and the next call
works again in a fresh executor.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import select
import struct
import sys
import tempfile
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from refconv._executor import wire
from refconv.conformance.calls import InProcess, RemoteError
from refconv.conformance.isolation import ExecutorConfig, ExecutorError, IsolatedTarget
from refconv.conformance.target import TargetLoadError, load_target

DTYPES = [
    np.dtype(name)
    for name in "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 "
    "float16 float32 float64 complex64 complex128".split()
]

NAMESPACES = sys.platform.startswith("linux") and os.geteuid() == 0


def read_frame(data: bytes) -> tuple[dict, list]:
    """``data`` read back by a :class:`wire.Reader` (from a file: any size, EOF at the end)."""
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.flush()
        file.seek(0)
        return wire.Reader(file.fileno()).read(time.monotonic() + 30)


def travel(value):
    """``value`` encoded, framed, read and decoded, as the judge receives a result."""
    buffers: list = []
    header, data = read_frame(wire.pack({"value": wire.encode(value, buffers)}, buffers))
    return wire.decode(header["value"], data)


def frame(header: bytes, *sizes: int) -> bytes:
    """A raw frame: ``header`` bytes, then buffer length prefixes without their data."""
    return (
        struct.pack(">II", len(header), len(sizes))
        + header
        + b"".join(struct.pack(">Q", size) for size in sizes)
    )


def assert_plain_copy(got, expected: np.ndarray) -> None:
    assert type(got) is np.ndarray
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == np.ascontiguousarray(expected).tobytes()  # bitwise: NaN, -0.0
    assert got.flags.c_contiguous and got.flags.owndata and got.flags.writeable


# --- wire: round trips


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_arrays_of_every_allowed_dtype_round_trip(dtype):
    value = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    assert_plain_copy(travel(value), value)


@given(
    hnp.arrays(
        st.sampled_from(DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
    )
)
@settings(max_examples=60, deadline=None)
def test_any_array_of_an_allowed_dtype_comes_back_bit_for_bit(value):
    assert_plain_copy(travel(value), value)


BASE = np.arange(24, dtype=np.float64).reshape(4, 6)
VIEWS = {
    "0-d": np.array(2.5),
    "empty": np.zeros((0, 3), np.int32),
    "empty-3d": np.zeros((2, 0, 5)),
    "strided": BASE[:, ::2],
    "transposed": BASE.T,
    "fortran": np.asfortranarray(BASE),
    "negative-stride": BASE[::-1, ::-2],
    "broadcast-read-only": np.broadcast_to(np.arange(3.0), (4, 3)),
    "big-endian": BASE.astype(">f8"),
}


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
def test_views_arrive_as_equal_plain_c_arrays_that_own_their_data(view):
    assert_plain_copy(travel(view), view)


SCALARS = [np.bool_(True), np.int8(-5), np.uint64(2**64 - 1), np.float16(0.1), np.float32("nan")]
SCALARS += [np.float64(-0.0), np.complex64(1 - 2j), np.complex128(complex(np.inf, -1))]


@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
def test_numpy_scalars_stay_numpy_scalars_of_the_same_dtype(scalar):
    got = travel(scalar)
    assert type(got) is type(scalar)
    assert np.asarray(got).tobytes() == np.asarray(scalar).tobytes()


@pytest.mark.parametrize(
    "number", [0.1, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, -0.0, math.nan]
)
def test_python_floats_are_exact_including_nan_infinities_and_negative_zero(number):
    got = travel(number)
    assert type(got) is float
    assert got.hex() == number.hex()


@pytest.mark.parametrize("number", [0, -1, 2**63, -(2**200), 10**3999])
def test_big_ints_are_exact(number):
    got = travel(number)
    assert type(got) is int and got == number


def test_nested_containers_and_atoms_keep_their_types():
    value = {"a": (1, [2.5, None, "text"]), 3: (True, False), None: [[], (), {}], 1.5: "x"}
    got = travel(value)
    assert got == value
    assert type(got["a"]) is tuple and type(got["a"][1]) is list
    assert type(got[3][0]) is bool and got[None] == [[], (), {}]


class Tagged(np.ndarray):
    pass


def test_an_ndarray_subclass_travels_as_its_plain_data():
    value = np.arange(4.0).view(Tagged)
    buffers: list = []
    assert wire.encode(value, buffers)["cls"].endswith("Tagged")
    assert_plain_copy(travel(value), np.arange(4.0))


class Thing:
    def __repr__(self) -> str:
        return "Thing<" + "x" * 1000 + ">"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_an_object_without_plain_form_becomes_foreign_with_type_name_and_short_repr():
    got = travel(Thing())
    assert isinstance(got, wire.Foreign)
    assert got.type_name == f"{__name__}.Thing"
    assert repr(got).startswith("Thing<xxx") and len(repr(got)) <= 300


def test_a_raising_repr_does_not_break_encoding():
    got = travel([BadRepr()])
    assert isinstance(got[0], wire.Foreign) and got[0].text == "<repr failed>"


NOT_PLAIN = {
    "str-array": np.array(["a"]),
    "object-array": np.array([object()]),
    "datetime-array": np.zeros(1, "M8[s]"),
    "complex": 1 + 2j,
    "long-list": [0] * (wire.MAX_ITEMS + 1),
    "deep-list": [[[[[[[[[[1]]]]]]]]]],
}


@pytest.mark.parametrize("value", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_values_outside_the_plain_forms_become_foreign_somewhere_inside(value):
    got = travel(value)
    while isinstance(got, list):
        got = got[0]
    assert isinstance(got, wire.Foreign)


# --- wire: what decode and Reader reject


def array_node(**changes):
    return {"t": "nd", "dtype": "<f8", "shape": [2], "buf": 0, **changes}


def nested(depth: int) -> dict:
    node = {"t": "none"}
    for _ in range(depth):
        node = {"t": "list", "items": [node]}
    return node


MALFORMED = {
    "not-a-dict": [{"t": "none"}],
    "unknown-kind": {"t": "pickle", "v": "cos\nsystem\n"},
    "no-kind": {"v": 1},
    "object-dtype": array_node(dtype="|O"),
    "str-dtype": array_node(dtype="<U1"),
    "datetime-dtype": array_node(dtype="<M8[s]"),
    "structured-dtype": array_node(dtype="[('a', '<f8')]"),
    "void-dtype": array_node(dtype="|V8"),
    "dtype-not-a-string": array_node(dtype=8),
    "too-few-bytes": array_node(shape=[3]),
    "too-many-bytes": array_node(shape=[1]),
    "negative-dim": array_node(shape=[-2]),
    "float-dim": array_node(shape=[2.0]),
    "bool-dim": array_node(shape=[True, 2]),
    "string-dim": array_node(shape=["2"]),
    "shape-not-a-list": array_node(shape=2),
    "too-many-dims": array_node(shape=[1] * (wire.MAX_NDIM + 1) + [2]),
    "missing-buffer": array_node(buf=1),
    "negative-buffer": array_node(buf=-1),
    "buffer-index-bool": array_node(buf=False),
    "buffer-index-missing": {"t": "nd", "dtype": "<f8", "shape": [2]},
    "scalar-of-bad-dtype": {"t": "np", "dtype": "|O", "shape": [], "buf": 0},
    "too-deep": nested(wire.MAX_DEPTH + 3),
    "too-many-items": {"t": "list", "items": [{"t": "none"}] * (wire.MAX_ITEMS + 1)},
    "items-not-a-list": {"t": "tuple", "items": {"t": "none"}},
    "dict-item-not-a-pair": {"t": "dict", "items": [[{"t": "none"}]]},
    "bad-float-text": {"t": "float", "v": "0xzz"},
    "float-not-text": {"t": "float", "v": 1.5},
    "bad-int-text": {"t": "int", "v": "12a"},
    "int-as-float-text": {"t": "int", "v": "1e5"},
    "int-too-long": {"t": "int", "v": "9" * 4001},
    "int-not-text": {"t": "int", "v": 7},
    "bool-as-text": {"t": "bool", "v": "true"},
    "str-too-long": {"t": "str", "v": "x" * (wire.MAX_TEXT + 1)},
    "obj-without-type": {"t": "obj", "repr": "x"},
    "ref-without-resolver": {"t": "ref", "function": "forward", "index": 1},
}


@pytest.mark.parametrize("node", MALFORMED.values(), ids=MALFORMED.keys())
def test_decode_rejects_malformed_values_with_a_protocol_error(node):
    with pytest.raises(wire.ProtocolError):
        wire.decode(node, [bytes(16)])


@pytest.mark.parametrize(
    "node",
    [
        {"t": "float", "v": "0x1p99999"},  # float.fromhex: OverflowError
        array_node(dtype="<f8\n"),  # `$` matches before a final newline; np.dtype: TypeError
        array_node(shape=[2**64, 0]),  # numpy: ValueError
    ],
    ids=["float-overflow", "dtype-with-newline", "huge-dim-of-empty-array"],
)
def test_decode_rejects_overflows_trailing_newlines_and_huge_dims_with_a_protocol_error(node):
    with pytest.raises(wire.ProtocolError):
        wire.decode(node, [b""])


def test_an_int_too_long_to_travel_arrives_as_a_foreign_object():
    arrived = travel(10**4100)
    assert isinstance(arrived, wire.Foreign) and arrived.type_name == "int"


def test_ref_nodes_are_resolved_only_by_the_given_resolver():
    node = wire.encode_ref(wire.Ref("forward", 1))
    assert wire.decode(node, [], refs=lambda function, index: (function, index)) == ("forward", 1)


BAD_FRAMES = {
    "header-too-large": struct.pack(">II", wire.MAX_HEADER_BYTES + 1, 0),
    "too-many-buffers": struct.pack(">II", 2, wire.MAX_BUFFERS + 1) + b"{}",
    "buffer-too-large": frame(b"{}", wire.MAX_FRAME_BYTES + 1),
    "buffers-too-large": struct.pack(">II", 2, 2)
    + b"{}"
    + struct.pack(">Q", 8)
    + bytes(8)
    + struct.pack(">Q", wire.MAX_FRAME_BYTES - 7),
    "not-json": frame(b"{not json"),
    "not-utf8": frame(b"\xff\xfe"),
    "header-a-list": frame(b"[1, 2]"),
    "header-a-string": frame(b'"text"'),
}


@pytest.mark.parametrize("data", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_reader_rejects_malformed_frames_without_reading_their_bulk(data):
    with pytest.raises(wire.ProtocolError) as rejected:
        read_frame(data)
    assert not isinstance(rejected.value, wire.Closed)  # rejected, not read until the EOF


def test_reader_rejects_a_deeply_nested_header_with_a_protocol_error():
    with pytest.raises(wire.ProtocolError):
        read_frame(frame(b"[" * 100_000 + b"]" * 100_000))


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00", frame(b"{}", 4) + b"ab"], ids=["empty", "mid-prefix", "mid-buffer"]
)
def test_reader_raises_closed_when_the_peer_closes(data):
    with pytest.raises(wire.Closed):
        read_frame(data)


def test_reader_raises_deadline_when_no_frame_arrives_in_time():
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, struct.pack(">II", 2, 0))  # half a frame, then silence
        with pytest.raises(wire.Deadline):
            wire.Reader(read_end).read(time.monotonic() + 0.2)
    finally:
        os.close(read_end)
        os.close(write_end)


# --- IsolatedTarget

TARGET = """
import os
import sys

STATE = []


class Cache:
    def __init__(self, total):
        self.total = total


LAST = None


def forward(x):
    global LAST
    LAST = Cache(float(x.sum()))
    return x * 2, LAST


def backward(cache):
    return cache is LAST, cache.total


def remember():
    STATE.append(None)
    return len(STATE)


def index(i):
    return [10, 20][i]


class WrongAnswer(Exception):
    pass


def custom():
    raise WrongAnswer("user message")


def chatty(x):
    print("to stdout", x)
    print("to stderr", file=sys.stderr)
    return x


def scale_in_place(a, b):
    a *= 3


def spin():
    while True:
        pass


def leave():
    os._exit(3)


def segfault():
    import ctypes
    ctypes.string_at(0)
"""

NAMES = tuple(
    "forward backward remember index custom chatty scale_in_place spin leave segfault "
    "absent".split()
)


@pytest.fixture(scope="module")
def target_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("target") / "submission.py"
    path.write_text(TARGET)
    return path


@pytest.fixture(scope="module")
def target(target_file):
    with IsolatedTarget(target_file, names=NAMES) as isolated:
        yield isolated


@pytest.fixture(scope="module", params=["auto", "process"])
def any_level(request, target_file):
    config = ExecutorConfig(level=request.param)
    with IsolatedTarget(target_file, names=NAMES, config=config) as isolated:
        yield isolated


def write(tmp_path, source: str, name: str = "submission.py") -> str:
    path = tmp_path / name
    path.write_text(source)
    return str(path)


def test_functions_are_the_defined_names_in_the_order_asked_for(target):
    assert target.functions == list(NAMES[:-1])
    assert target.present("forward") and not target.present("absent")
    assert target.kind == "py" and target.notes == []


def test_a_target_raising_at_import_loads_its_definitions_with_a_note(tmp_path):
    path = write(tmp_path, "def index(i):\n    return i\n\nraise RuntimeError('demo code')\n")
    with IsolatedTarget(path, names=("index",)) as isolated:
        assert isolated.functions == ["index"]
        assert any("RuntimeError" in note for note in isolated.notes)
        assert isolated.invoke("index", [("i", 4)], 10).value == 4


def test_a_call_returns_what_the_same_call_returns_in_process(target, target_file):
    x = np.arange(6.0).reshape(2, 3)
    local = InProcess(load_target(target_file, NAMES).namespace).invoke("forward", [("x", x)], 10)
    remote = target.invoke("forward", [("x", x)], 10)
    assert_plain_copy(remote.value[0], local.value[0])
    assert (remote.exception, remote.crash, remote.timed_out) == (None, "", False)


def test_an_object_of_the_target_comes_back_as_foreign(target):
    cache = target.invoke("forward", [("x", np.ones(2))], 10).value[1]
    assert isinstance(cache, wire.Foreign) and cache.type_name.endswith(".Cache")


def test_kept_passes_the_forwards_own_cache_object_to_a_later_call(target):
    outcome = target.invoke("forward", [("x", np.arange(4.0))], 10)
    cache = target.kept("forward", outcome.value, 1)
    assert target.invoke("backward", [("cache", cache)], 10).value == (True, 6.0)


def test_a_builtin_exception_comes_back_as_its_builtin_class(target):
    outcome = target.invoke("index", [("i", 5)], 10)
    assert type(outcome.exception) is IndexError
    assert "submission.py" in outcome.traceback


def test_a_user_exception_comes_back_as_a_remote_error_with_its_class_name(target):
    exception = target.invoke("custom", [], 10).exception
    assert isinstance(exception, RemoteError)
    assert type(exception).__name__ == "WrongAnswer" and str(exception) == "user message"


def test_printed_output_is_captured(target):
    outcome = target.invoke("chatty", [("x", 7)], 10)
    assert outcome.value == 7
    assert outcome.printed == "to stdout 7\nto stderr\n"


def test_a_mutated_argument_is_reported_with_its_value_after_the_call(target):
    a = np.arange(3.0)
    outcome = target.invoke("scale_in_place", [("a", a), ("other", np.ones(1))], 10)
    assert [name for name, _ in outcome.mutated] == ["a"]
    assert_plain_copy(outcome.mutated[0][1], np.arange(3.0) * 3)
    assert_plain_copy(a, np.arange(3.0))  # the judge's own array is untouched


def test_a_call_that_never_returns_times_out_and_the_next_runs_in_a_reloaded_target(any_level):
    any_level.invoke("remember", [], 10)
    assert any_level.invoke("spin", [], 1).timed_out
    assert any_level.invoke("remember", [], 10).value == 1  # fresh module state


def test_exiting_in_a_call_is_a_crash_with_the_status_and_the_next_call_works(any_level):
    assert "status 3" in any_level.invoke("leave", [], 10).crash
    assert any_level.invoke("index", [("i", 1)], 10).value == 20


def test_a_segfault_is_a_crash_naming_sigsegv_and_the_next_call_works(any_level):
    assert "SIGSEGV" in any_level.invoke("segfault", [], 10).crash
    assert any_level.invoke("index", [("i", 0)], 10).value == 10


@pytest.mark.skipif(not NAMESPACES, reason="namespaces need Linux and a judge running as root")
def test_the_executor_is_confined_with_namespaces_when_root_on_linux(target):
    isolation = target.executor["isolation"]
    assert isolation["level"] == "namespaces"
    assert "read-only file system" in isolation["enforced"]


def test_level_process_is_reported_as_process(tmp_path):
    path = write(tmp_path, "def index(i):\n    return i\n")
    config = ExecutorConfig(level="process")
    with IsolatedTarget(path, names=("index",), config=config) as isolated:
        assert isolated.executor["isolation"]["level"] == "process"


# --- loading


@pytest.mark.parametrize(
    "source, words",
    [
        ("def index(:\n", "not valid Python"),
        ("import os\nos._exit(4)\n", "status 4"),
    ],
    ids=["syntax-error", "exits-at-import"],
)
def test_a_target_that_cannot_be_loaded_raises_target_load_error_with_the_reason(
    tmp_path, source, words
):
    with pytest.raises(TargetLoadError, match=words):
        IsolatedTarget(write(tmp_path, source), names=("index",))


def test_a_missing_file_raises_target_load_error(tmp_path):
    with pytest.raises(TargetLoadError, match="no such file"):
        IsolatedTarget(str(tmp_path / "absent.py"), names=("index",))


def test_a_load_that_never_finishes_raises_target_load_error_naming_the_timeout(tmp_path):
    path = write(tmp_path, "while True:\n    pass\n")
    with pytest.raises(TargetLoadError, match="did not finish within 2 s"):
        IsolatedTarget(path, names=("index",), config=ExecutorConfig(import_timeout=2))


def test_a_missing_interpreter_is_an_error_naming_it(tmp_path):
    # ExecutorError is what the constructor raises today (see the report: TargetLoadError is
    # what its docstring promises); either must name the interpreter, at once.
    config = ExecutorConfig(python="/nonexistent/python")
    with pytest.raises((TargetLoadError, ExecutorError), match="/nonexistent/python"):
        IsolatedTarget(write(tmp_path, "def index(i):\n    return i\n"), config=config)


def test_an_interpreter_that_exits_at_once_is_a_load_error(tmp_path):
    config = ExecutorConfig(python="/bin/false")
    with pytest.raises(TargetLoadError, match="status 1"):
        IsolatedTarget(write(tmp_path, "def index(i):\n    return i\n"), config=config)


# --- forged answers and forks

FORGER = """
import json, os, struct, sys


def _forge(text):
    os.write(int(sys.argv[3]), struct.pack(">II", len(text), 0) + text)  # the answer channel
    return 0


def overflow():
    return _forge(json.dumps({"status": "returned",
                              "value": {"t": "float", "v": "0x1p99999"}}).encode())


def deep():
    return _forge(b"[" * 100000 + b"]" * 100000)


def junk():
    return _forge(b"{not json")
"""


@pytest.fixture
def forger(tmp_path):
    """A fresh executor per test: a forgery leaves the real answer behind, unread."""
    with IsolatedTarget(write(tmp_path, FORGER), names=("overflow", "deep", "junk")) as isolated:
        yield isolated


def test_a_forged_malformed_answer_is_a_crash(forger):
    assert "protocol" in forger.invoke("junk", [], 10).crash


@pytest.mark.parametrize("function", ["overflow", "deep"])
def test_a_forged_answer_the_judge_cannot_parse_is_a_crash_not_an_exception(forger, function):
    assert forger.invoke(function, [], 10).crash


def _remember_in_child(target, answers):
    outcome = target.invoke("remember", [], 30)
    answers.send((outcome.value, outcome.crash))
    target.close()


def test_a_forked_child_starts_its_own_executor_and_the_parents_still_answers(target):
    before = target.invoke("remember", [], 10).value
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_remember_in_child, args=(target, send))
    child.start()
    send.close()  # a child that dies makes recv() raise EOFError instead of waiting
    answer = receive.recv()
    child.join()
    assert answer == (1, "")  # a fresh executor, with the target loaded anew
    assert child.exitcode == 0
    assert target.invoke("remember", [], 10).value == before + 1  # the parent's, still alive


LAYOUT_PROBE = """
import numpy as np

def probe(x):
    return (x.strides, x.flags.writeable, x.flags.c_contiguous, x.copy())
"""


def _layouts() -> dict[str, np.ndarray]:
    base = np.arange(48.0).reshape(2, 3, 4, 2)
    frozen = base.copy()
    frozen.flags.writeable = False
    return {
        "fortran": np.asfortranarray(base),
        "negative-strides": base[::-1, :, ::-1],
        "sliced-channels": base[:, :, :, :1],
        "every-other-column": base[:, :, ::2],
        "read-only": frozen,
    }


@pytest.mark.parametrize("name", sorted(_layouts()))
def test_arguments_reach_the_target_with_their_memory_layout(tmp_path, name):
    path = tmp_path / "layout.py"
    path.write_text(LAYOUT_PROBE)
    view = _layouts()[name]
    expected = (view.strides, view.flags.writeable, view.flags.c_contiguous)
    with IsolatedTarget(path, names=("probe",)) as isolated:
        strides, writeable, contiguous, values = isolated.invoke("probe", [("x", view)], 10).value
    assert (tuple(strides), writeable, contiguous) == expected
    np.testing.assert_array_equal(values, view)
    in_process = InProcess(load_target(path, ("probe",)).namespace)
    strides, writeable, contiguous, values = in_process.invoke("probe", [("x", view)], 10).value
    assert (tuple(strides), writeable, contiguous) == expected


def test_the_judge_refuses_array_layouts_from_the_executor():
    buffers: list[bytes] = []
    node = wire.encode(np.asfortranarray(np.ones((2, 3))), buffers, layouts=True)
    assert "layout" in node
    with pytest.raises(wire.ProtocolError):
        wire.decode(node, buffers)


def test_the_executor_side_parses_as_python_3_8():
    import ast
    from pathlib import Path

    folder = Path(wire.__file__).parent
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path), feature_version=(3, 8))
        # module-level imports: the standard library, NumPy and each other, never refconv
        # (the loader imports refconv only when refconv itself is the target)
        for node in tree.body:
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("refconv") for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("refconv"), path


# --- started calls: the judge works while the target runs -----------------------------------

SLEEPER = """
import time


def nap(seconds):
    time.sleep(seconds)
    return seconds


def count():
    calls.append(1)
    return len(calls)


calls = []
"""


def test_a_started_call_answers_when_finished(tmp_path):
    with IsolatedTarget(write(tmp_path, SLEEPER), names=("nap", "count")) as isolated:
        finish = isolated.start("nap", [("seconds", 0.2)], 5)
        assert finish().value == 0.2
        assert finish().value == 0.2  # the same outcome, read once


def _busy_until_answered(isolated: IsolatedTarget, at_least: float) -> None:
    """The judge busy (computing expected values, importing torch...) until the answer is in
    its pipe and at least ``at_least`` seconds have passed."""
    started = time.monotonic()
    select.select([isolated._process.response_r], [], [], 60)
    time.sleep(max(0.0, at_least - (time.monotonic() - started)))


def test_a_judge_busy_past_the_timeout_still_reads_a_fast_answer(tmp_path):
    with IsolatedTarget(write(tmp_path, SLEEPER), names=("nap", "count")) as isolated:
        finish = isolated.start("nap", [("seconds", 0.0)], 0.3)
        _busy_until_answered(isolated, 0.6)
        outcome = finish()
        assert not outcome.timed_out and outcome.value == 0.0
        assert isolated.invoke("count", [], 5).value == 1  # the same executor


def test_a_slow_answer_read_late_is_a_timeout_and_the_next_call_gets_a_fresh_executor(tmp_path):
    with IsolatedTarget(write(tmp_path, SLEEPER), names=("nap", "count")) as isolated:
        assert isolated.invoke("count", [], 5).value == 1
        finish = isolated.start("nap", [("seconds", 0.5)], 0.3)
        _busy_until_answered(isolated, 0.0)  # 0.5 s of work, over the limit
        assert finish().timed_out
        assert isolated.invoke("count", [], 5).value == 1  # fresh: as if it had been killed


def test_a_call_started_and_never_waited_for_does_not_answer_the_next_one(tmp_path):
    with IsolatedTarget(write(tmp_path, SLEEPER), names=("nap", "count")) as isolated:
        isolated.start("nap", [("seconds", 0.1)], 5)  # its answer is never asked for
        assert isolated.invoke("count", [], 5).value == 1
        assert isolated.invoke("nap", [("seconds", 0.0)], 5).value == 0.0
