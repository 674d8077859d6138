"""Batch grading on a Dask distributed cluster: ``refconv check FOLDER --dask ADDRESS``.

One Dask task per submission; each task runs the same isolated per-submission check as local
batch mode (:func:`refconv.grading.batch.grade_submission`: a judge subprocess of its own, which
runs the submission in a confined executor) and returns that submission's JSON document. The
report is the local batch's, but for timings.

How it works
------------
``ADDRESS`` is ``tcp://HOST:PORT``, the scheduler of a running cluster (:func:`grade_on_dask`
connects a :class:`distributed.Client`), or ``local:N``, a :class:`distributed.LocalCluster` of
``N`` single-threaded worker processes on 127.0.0.1, without a dashboard, closed at the end.

Workers need not share a file system with the machine that submits. A task therefore carries
the submission's bytes and its file name (a :class:`Submission`); the worker writes them into a
private temporary folder under the same file name, grades that file with
:func:`~refconv.grading.batch.grade_submission`, and maps the temporary paths in every string of
the document (target, notes, messages, reproduction snippets, the list of hidden folders) back to
the original ones. The local batch's documents name a submission in several forms: as given (the
``target``, maybe relative), resolved (the file the judge loads: reproduction snippets,
tracebacks), its folder, resolved (hidden from the executor), and the folders on the way that
others may not enter (the namespaces executor lists them among the hidden folders); the
worker's temporary folder mimics each of them (a symlinked folder stands for the path as given,
``0o700`` folders for the closed ones) so that each maps back to its own form. With
``plot_root``, the task also returns the PNG files the check drew, and they are written locally
to ``plot_root/<stem>/``, as in a local batch.

At most as many tasks as the cluster has worker threads are in flight (more are submitted as
tasks finish, and as workers join): a worker's death then only concerns the submission it was
grading, not others queued behind it. A task whose worker dies is run again on another worker;
when the scheduler gives up (:class:`distributed.KilledWorker`) or the task fails in any other
way, that submission becomes an error document ``{"target", "error", "results": []}`` with exit
status 1: every submission has its row.

``distributed`` is an optional dependency (``pip install 'refconv[dask]'``), imported only by
:func:`grade_on_dask`. docs/dask.md describes deployments (LocalCluster, SLURM via
dask-jobqueue).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refconv.grading.batch import grade_submission

#: Default number of times a task is run again after its worker died (or it raised).
DEFAULT_RETRIES = 2

#: Seconds to wait for the scheduler of a ``tcp://`` address to answer.
CONNECT_TIMEOUT = 5.0

_INSTALL_HINT = "pip install 'refconv[dask]'"
_HIDDEN = re.compile(r"^hidden: (?P<folders>.*) \(but for the paths the target needs\)$")


@dataclass(frozen=True)
class Submission:
    """What a task carries to a worker: one submission's content and its original paths.

    Attributes
    ----------
    name : str
        The file name (written under this name on the worker).
    data : bytes
        The file's content.
    target : str
        The path as the batch names it, ``str(path)`` (may be relative): the document's
        ``target``.
    resolved : str
        ``str(path.resolve())``, the file the judge loads (reproduction snippets, tracebacks).
    folder : str
        ``str(path.parent.resolve())``, the folder hidden from the executor.
    closed : tuple of str
        The folders on the way to ``resolved`` that others may not enter (a ``0o700`` home,
        pytest's ``/tmp/pytest-of-USER``...): the namespaces executor lists them among the
        hidden folders, so the worker's layout has a stand-in for each.
    """

    name: str
    data: bytes
    target: str
    resolved: str
    folder: str
    closed: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path) -> Submission:
        """The submission at ``path`` (raises ``OSError`` if it cannot be read)."""
        return cls(
            name=path.name,
            data=path.read_bytes(),
            target=str(path),
            resolved=str(path.resolve()),
            folder=str(path.parent.resolve()),
            closed=closed_folders(path.resolve()),
        )


@dataclass
class Graded:
    """What a task returns: ``grade_submission``'s exit status and document, and the plots.

    Attributes
    ----------
    code : int
        Exit status of the submission's check (0: conforms).
    document : dict
        Its JSON document, with the worker's temporary paths mapped back to the original ones.
    plots : dict of str to bytes
        PNG files drawn by ``--plot``, by file name (empty without ``plot``).
    """

    code: int
    document: dict[str, Any]
    plots: dict[str, bytes] = field(default_factory=dict)


TaskFunction = Callable[[Submission, Sequence[str], float, bool], Graded]


def parse_address(address: str) -> tuple[str, str | int]:
    """Validate ``--dask ADDRESS``.

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT`` or ``local:N`` (``N >= 1``).

    Returns
    -------
    tuple
        ``("local", N)`` or ``("tcp", address)``.

    Raises
    ------
    ValueError
        For anything else, naming the value.
    """
    text = address.strip()
    if text.startswith("local:"):
        count = text[len("local:") :]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--dask {address!r}: local:N needs a whole number of workers N >= 1")
        return "local", int(count)
    if text.startswith("tcp://"):
        host, _, port = text[len("tcp://") :].rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]  # IPv6, tcp://[::1]:8786
        if host and "/" not in host and port.isdigit() and 0 < int(port) < 65536:
            return "tcp", text
        raise ValueError(f"--dask {address!r}: expected tcp://HOST:PORT with a port 1-65535")
    raise ValueError(
        f"--dask {address!r}: expected tcp://HOST:PORT (a Dask scheduler) or local:N "
        "(a LocalCluster of N workers on this machine)"
    )


def require_distributed() -> Any:
    """The ``distributed`` module, or an ``ImportError`` that says how to install it."""
    try:
        import distributed
    except ImportError:
        raise ImportError(
            f"--dask needs Dask distributed, which is not installed: {_INSTALL_HINT}"
        ) from None
    return distributed


def grade_task(
    submission: Submission, options: Sequence[str], limit: float, plot: bool = False
) -> Graded:
    """The task run on a worker: grade ``submission`` in a private temporary folder.

    Parameters
    ----------
    submission : Submission
        Content and original paths of the submission.
    options, limit
        As for :func:`~refconv.grading.batch.grade_submission`.
    plot : bool
        Draw the failures (``--plot``) and return the PNG files.

    Returns
    -------
    Graded
        The exit status, the document with the temporary paths mapped back to the original
        ones, and the plots.
    """
    root = Path(tempfile.mkdtemp(prefix="refconv-dask-")).resolve()
    try:
        given, mapping = _layout(root, submission)
        pictures = root / "plots"
        code, document = grade_submission(given, options, limit, pictures if plot else None)
        plots = {}
        if plot and pictures.is_dir():
            plots = {p.name: p.read_bytes() for p in sorted(pictures.glob("*.png"))}
        return Graded(code, _rewrite(document, mapping), plots)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _layout(root: Path, submission: Submission) -> tuple[Path, list[tuple[str, str]]]:
    """Write the submission under ``root`` so that each form of its original paths has a
    distinct stand-in; return the path to grade and the ``(stand-in, original)`` pairs, most
    specific first.

    ``c0/c1/...`` (``0o700``) stand for the closed folders on the way to the original file
    (:attr:`Submission.closed`), ``d`` for the submission's folder: it holds the file or, when
    the original file is a symlink to another folder or name, a symlink to the file in ``f``;
    ``g``, a symlink to ``d``, stands for the folder as given. The other folders are ``0o711``:
    the executor's own uid may traverse them but not list them.
    """
    resolved = Path(submission.resolved)
    plain = resolved.parent == Path(submission.folder) and resolved.name == submission.name
    closed = list(submission.closed)
    parent_closed = bool(closed) and closed[-1] == str(resolved.parent)
    outer: list[tuple[str, str]] = []
    home = root
    for index, original in enumerate(closed[:-1] if parent_closed else closed):
        home = home / f"c{index}"
        home.mkdir()
        os.chmod(home, 0o700)
        outer.insert(0, (str(home), original))  # the deepest first
    holder = home / ("d" if plain else "f")  # the folder that holds the file itself
    holder.mkdir()
    os.chmod(holder, 0o700 if parent_closed else 0o711)
    file = holder / (submission.name if plain else resolved.name)
    file.write_bytes(submission.data)
    os.chmod(file, 0o644)
    mapping: list[tuple[str, str]] = []
    folder = holder
    if not plain:
        folder = root / "d"
        folder.mkdir()
        os.chmod(folder, 0o711)
        link = folder / submission.name
        link.symlink_to(file)
        mapping.append((str(link), str(Path(submission.folder, submission.name))))
    os.chmod(root, 0o711)
    given = root / "g" / submission.name
    try:
        (root / "g").symlink_to(folder, target_is_directory=True)
    except OSError:  # no symlinks here: the given and resolved forms coincide
        given = folder / submission.name
    mapping = [(str(given), submission.target), (str(file), submission.resolved), *mapping]
    mapping.append((str(folder), submission.folder))
    if holder != folder:
        mapping.append((str(holder), str(resolved.parent)))
    return given, mapping + outer


def closed_folders(path: Path) -> tuple[str, ...]:
    """The folders on the way to the file ``path`` (its own folder included) that others may
    not enter (no ``o+x``), outermost first.

    The namespaces executor, whose uid owns nothing, covers such folders and lists them among
    the hidden ones (``_blocked_folders`` in :mod:`refconv._executor.confine`).
    """
    closed = []
    current = Path(path.anchor)
    for part in path.parts[1:-1]:
        current = current / part
        try:
            info = current.stat()
        except OSError:
            break
        if stat.S_ISDIR(info.st_mode) and not info.st_mode & 0o001:
            closed.append(str(current))
    return tuple(closed)


def _rewrite(value: Any, mapping: list[tuple[str, str]]) -> Any:
    """``value`` (a JSON document) with every temporary path replaced by its original; repr
    forms first (reproduction snippets quote paths with ``repr``)."""
    if isinstance(value, str):
        changed = value
        for old, new in mapping:
            changed = changed.replace(repr(old), repr(new)).replace(old, new)
        if changed != value:
            match = _HIDDEN.match(changed)
            if match:  # the executor lists hidden folders sorted: sort the originals
                folders = sorted(match["folders"].split(", "))
                changed = f"hidden: {', '.join(folders)} (but for the paths the target needs)"
        return changed
    if isinstance(value, dict):
        return {key: _rewrite(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, mapping) for item in value]
    return value


def _error(path: Path, message: str) -> tuple[int, dict[str, Any]]:
    return 1, {"target": str(path), "error": message, "results": []}


def _lost(path: Path, exc: BaseException, retries: int) -> tuple[int, dict[str, Any]]:
    """The error row of a submission whose task did not return."""
    if type(exc).__name__ == "KilledWorker":
        tries = getattr(exc, "allowed_failures", retries)
        worker = getattr(getattr(exc, "last_worker", None), "address", "?")
        return _error(
            path,
            f"Dask worker lost while grading this submission, after {tries} retries "
            f"(every worker that ran it died; the last was {worker})",
        )
    if type(exc).__name__ == "CancelledError":
        return _error(path, "the Dask task was cancelled (scheduler or connection lost?)")
    return _error(
        path,
        f"grading on the Dask cluster failed after {retries} retries: {type(exc).__name__}: {exc}"[
            :2000
        ],
    )


def _connect(kind: str, target: str | int, retries: int, timeout: float) -> tuple[Any, Any]:
    """A ``(client, cluster)`` pair; ``cluster`` is the LocalCluster this call owns, or None."""
    import dask

    distributed = require_distributed()
    if kind == "local":
        # A worker's death must only count against the task it was running: one task per
        # thread (no queue on the worker), and ``retries`` deaths allowed per task.
        settings = {
            "distributed.scheduler.allowed-failures": retries,
            "distributed.scheduler.worker-saturation": 1.0,
        }
        with dask.config.set(settings):
            cluster = distributed.LocalCluster(
                n_workers=int(target),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,
                # no dashboard; the scheduler's small HTTP server (health, metrics) on a free
                # loopback port rather than 8787, which may be taken
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            )
            try:
                client = distributed.Client(cluster, set_as_default=False)
            except BaseException:
                cluster.close()
                raise
        return client, cluster
    try:
        client = distributed.Client(str(target), timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(
            f"--dask {target}: cannot reach the Dask scheduler within {timeout:g} s ({exc})"
        ) from None
    return client, None


def _capacity(client: Any) -> int:
    """Tasks to keep in flight: the cluster's worker threads now (at least one)."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - a momentary scheduler hiccup: keep one going
        return 1


def grade_on_dask(
    submissions: Sequence[Path],
    options: Sequence[str],
    limit: float,
    address: str,
    plot_root: Path | None = None,
    retries: int = DEFAULT_RETRIES,
    connect_timeout: float = CONNECT_TIMEOUT,
    _task: TaskFunction = grade_task,
) -> list[tuple[int, dict[str, Any]]]:
    """Grade ``submissions`` on a Dask cluster, one task each; results in their order.

    Parameters
    ----------
    submissions : sequence of Path
        The batch's files (:func:`~refconv.grading.batch.submissions_in`).
    options : sequence of str
        ``refconv check`` options (:func:`~refconv.grading.batch.check_options`).
    limit : float
        Wall-clock limit of one submission's judge, on the worker
        (:func:`~refconv.grading.batch.time_limit`).
    address : str
        ``tcp://HOST:PORT`` (a running scheduler) or ``local:N`` (a LocalCluster of ``N``
        single-threaded worker processes on 127.0.0.1, started and closed here).
    plot_root : Path, optional
        ``--plot``: each submission's PNG files are written to ``plot_root/<stem>/`` here.
    retries : int
        Times a task is run again when it raises (``Client.submit(retries=...)``), and, for
        ``local:N``, when its worker dies (the scheduler's ``allowed-failures``; a ``tcp://``
        scheduler uses its own setting, 3 by default).
    connect_timeout : float
        Seconds to wait for a ``tcp://`` scheduler.
    _task : callable
        The function run on the workers (a test seam); :func:`grade_task`.

    Returns
    -------
    list of (int, dict)
        ``(exit status, document)`` per submission, as :func:`grade_submission` returns them
        (the same documents as a local batch but for timings); a submission whose task never
        returned gets an error document with status 1.

    Raises
    ------
    ValueError
        A malformed ``address`` (before anything else).
    ImportError
        ``distributed`` is not installed.
    ConnectionError
        The ``tcp://`` scheduler did not answer within ``connect_timeout`` seconds.
    """
    kind, target = parse_address(address)
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    distributed = require_distributed()
    client, cluster = _connect(kind, target, retries, connect_timeout)
    results: list[tuple[int, dict[str, Any]] | None] = [None] * len(submissions)
    pending = deque(range(len(submissions)))
    running: dict[Any, int] = {}
    try:
        while pending or running:
            capacity = _capacity(client)
            while pending and len(running) < capacity:
                index = pending.popleft()
                path = Path(submissions[index])
                try:
                    submission = Submission.read(path)
                except OSError as exc:
                    results[index] = _error(path, f"cannot read the submission: {exc}")
                    continue
                plot = plot_root is not None
                future = client.submit(
                    _task, submission, list(options), limit, plot, retries=retries, pure=False
                )
                running[future] = index
            if not running:
                continue
            try:
                with client.as_current():  # wait() looks for the current client
                    done, _ = distributed.wait(
                        list(running), timeout=2, return_when="FIRST_COMPLETED"
                    )
            except TimeoutError:
                continue  # look again for workers that joined
            for future in done:
                index = running.pop(future)
                path = Path(submissions[index])
                results[index] = _collect(future, path, plot_root, retries)
    finally:
        for future in running:  # only after an exception (KeyboardInterrupt...)
            future.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
    return [
        result if result is not None else _error(Path(p), "the Dask task never returned")
        for p, result in zip(submissions, results, strict=True)
    ]


def _collect(
    future: Any, path: Path, plot_root: Path | None, retries: int
) -> tuple[int, dict[str, Any]]:
    """A finished task's ``(status, document)``; its plots written under ``plot_root``."""
    try:
        graded = future.result()
    except BaseException as exc:  # noqa: BLE001 - KilledWorker, CancelledError, the task's own
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _lost(path, exc, retries)
    if plot_root is not None and graded.plots:
        folder = Path(plot_root) / path.stem
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in graded.plots.items():
                (folder / Path(name).name).write_bytes(data)
        except OSError:
            return 2, graded.document  # as the local check: its JSON, then status 2
    return graded.code, graded.document
