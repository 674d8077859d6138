"""The executor's main loop: confine this process, load the target, answer call requests.

Started by the judge (:mod:`refconv.conformance.isolation`) as::

    python -B serve.py CONFIG_JSON REQUEST_FD RESPONSE_FD INFO_FD

Requests and answers are frames of :mod:`wire`. Requests (``op``):

- ``load`` ``{spec, names, cwd}``: load the target; answer ``{name, kind, path, notes,
  functions}`` or ``{error}``;
- ``call`` ``{function, args: [[name, value], ...]}``: call it on copies of the arguments;
  answer ``{status: "returned", value}`` or ``{status: "raised", type, module, message,
  traceback}``, plus ``printed`` (what it wrote to ``sys.stdout``/``sys.stderr``), ``mutated``
  (``[name, value after]`` of every argument it changed) and ``seconds``. The returned object
  is kept as the last result of ``function``: a later argument ``{"t": "ref"}`` can refer to
  one of its elements (a forward's cache, which never leaves this process).

The first frame this process sends is ``hello`` (its versions and the confinement achieved).
Everything here runs next to the target, so none of it is trusted by the judge: it is only
the target's way to answer.
"""

from __future__ import annotations

import json
import os
import sys
import time


def _serve(requests: int, responses: int, hello: dict) -> None:
    import contextlib
    import io
    import traceback
    import warnings

    import loader
    import numpy as np
    import snapshots
    import wire

    hello["numpy"] = np.__version__
    wire.write_frame(responses, {"op": "hello", **hello}, [])
    reader = wire.Reader(requests)
    namespace = None
    kept = {}

    def resolve(function, index):
        if function not in kept or type(index) is not int:
            raise wire.ProtocolError(f"no kept result of {function!r}")
        return kept[function][index]

    while True:
        try:
            header, buffers = reader.read()
        except wire.Closed:
            return
        op = header.get("op")
        if op == "load":
            try:
                target = loader.load_target(
                    header.get("spec"), tuple(header.get("names", ())), header.get("cwd")
                )
            except loader.TargetLoadError as exc:
                wire.write_frame(responses, {"error": str(exc)}, [])
                continue
            namespace = target.namespace
            answer = {
                "name": target.name,
                "kind": target.kind,
                "path": target.path,
                "notes": [str(n) for n in target.notes],
                "functions": target.functions,
            }
            wire.write_frame(responses, answer, [])
        elif op == "call" and namespace is not None:
            function = str(header.get("function"))
            out = []
            try:
                args = [
                    (str(name), wire.decode(node, buffers, refs=resolve))
                    for name, node in header.get("args", [])
                ]
                fn = getattr(namespace, function)
            except Exception as exc:  # noqa: BLE001 - reported to the judge as a protocol error
                wire.write_frame(responses, {"status": "protocol", "message": str(exc)}, [])
                continue
            # The arguments are fresh objects (decoded, layouts kept): the target gets them
            # as they are; snapshots tell afterwards whether it changed them.
            before = [(name, snapshots.snapshot(value)) for name, value in args]
            printed = io.StringIO()
            started = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                        result = fn(*wire.positional(args), **wire.keywords(args))
                seconds = time.perf_counter() - started
                kept[function] = result
                answer = {"status": "returned", "value": wire.encode(result, out)}
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - user code raises anything
                seconds = time.perf_counter() - started
                answer = {
                    "status": "raised",
                    "type": type(exc).__name__,
                    "module": getattr(type(exc), "__module__", ""),
                    "message": _text(exc)[:2000],
                    "traceback": _user_traceback(exc, traceback)[:8000],
                }
            mutated = []
            for (name, original), (_, value) in zip(before, args):
                if not snapshots.unchanged(original, value):
                    mutated.append([name, wire.encode(value, out)])
            answer.update(printed=printed.getvalue()[:4000], mutated=mutated, seconds=seconds)
            wire.write_frame(responses, answer, out)
        elif op == "exit":
            return
        else:
            wire.write_frame(
                responses, {"status": "protocol", "message": f"bad request {op!r}"}, []
            )


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__
        return "<str() failed>"


def _user_traceback(exc: BaseException, traceback) -> str:
    """The traceback without this file's frames nor library internals: the user's."""
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        foreign = ("/_executor/", "site-packages/", "/lib/python")
        user = [f for f in frames if not any(p in f.filename.replace("\\", "/") for p in foreign)]
        lines = traceback.format_list(user[-6:]) if user else []
        return "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))
    except Exception:  # noqa: BLE001
        return f"{type(exc).__name__}"


def main(argv: list) -> int:
    config = json.loads(argv[1])
    requests, responses, info = int(argv[2]), int(argv[3]), int(argv[4])
    import confine

    try:
        isolation = confine.confine(config, info, (requests, responses))
    except Exception as exc:  # noqa: BLE001 - never serve half-confined
        sys.stderr.write(f"refconv executor: confinement failed: {exc}\n")
        return 3
    hello = {"python": sys.version.split()[0], "pid": os.getpid(), "isolation": isolation}
    _serve(requests, responses, hello)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
