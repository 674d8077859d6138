"""`refconv check FOLDER --dask ADDRESS`: batch grading on Dask distributed, on loopback.

The same documents as the local batch (`--workers 2`) but for timings; a worker that dies
mid-task is retried, then its submission is an error row; malformed or unreachable addresses
fail before any work.
"""

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="needs Dask distributed: pip install 'refconv[dask]'")

from refconv.grading import cluster  # noqa: E402
from refconv.grading.batch import grade_submission, submissions_in  # noqa: E402
from refconv.grading.cluster import Graded, grade_on_dask, parse_address  # noqa: E402

ZOO = Path(__file__).parent / "zoo"
BATCH = [
    "correct_vectorised",
    "bug_ceil_pool",
    "bug_db_flat",
    "bug_last_max_mask",
    "bug_mutates_input",
]
#: Small settings: the cost of a submission is mostly its judge's start (torch's import).
OPTIONS = ["--max-examples", "5", "--seed", "0", "--ties", "torch", "--timeout", "10"]
OPTIONS += ["--import-timeout", "60", "--isolation", "auto", "--memory", "2048"]
OPTIONS += ["--database", "none"]
OPTIONS += ["--functions", "create_mask_from_window,pool_forward,conv_backward"]
LIMIT = 300.0


def without_timings(document):
    """A document without what depends on the machine's speed."""
    document = json.loads(json.dumps(document))
    for result in document.get("results", []):
        result.pop("seconds", None)
        result.get("statistics", {}).pop("seconds", None)
    return document


def make_batch(folder: Path) -> None:
    folder.mkdir()
    for stem in BATCH:
        shutil.copy(ZOO / f"{stem}.py", folder / f"{stem}.py")
    # does not load: its error message names the file (a path to map back)
    (folder / "broken_syntax.py").write_text("def zero_pad(X, pad:\n    return X\n")


def test_local_cluster_gives_the_local_batch_report(tmp_path, monkeypatch):
    make_batch(tmp_path / "subs")
    monkeypatch.chdir(tmp_path)  # relative paths, as `refconv check subs` names them
    submissions = submissions_in(Path("subs"))
    assert len(submissions) >= 6
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:  # what `--workers 2` does
        local = list(pool.map(lambda p: grade_submission(p, OPTIONS, LIMIT), submissions))
    middle = time.perf_counter()
    dask = grade_on_dask(submissions, OPTIONS, LIMIT, "local:2")
    end = time.perf_counter()
    print(f"local batch {middle - start:.1f} s, local:2 {end - middle:.1f} s")

    errors = [document.get("error") for _, document in dask]
    assert [code for code, _ in dask] == [code for code, _ in local], errors
    for (_, expected), (_, actual) in zip(local, dask, strict=True):
        assert without_timings(actual) == without_timings(expected)
    # a mix of verdicts, and the paths are the local ones (no worker's temporary folder)
    assert {code for code, _ in local} == {0, 1, 2}
    text = json.dumps([document for _, document in dask])
    assert "refconv-dask-" not in text
    assert dask[0][1]["target"] == str(Path("subs", "broken_syntax.py"))
    assert str((tmp_path / "subs" / "broken_syntax.py").resolve()) in dask[0][1]["error"]
    failing = next(d for _, d in dask if d["target"].endswith("bug_ceil_pool.py"))
    repros = [r["counterexample"]["repro"] for r in failing["results"] if r["counterexample"]]
    assert repros and all(repr(str(Path("subs/bug_ceil_pool.py").resolve())) in r for r in repros)


@pytest.mark.parametrize("symlinked", [False, True])
def test_worker_layout_stands_for_every_form_of_the_paths(tmp_path, monkeypatch, symlinked):
    """Each string a document may hold (the path as given, resolved, its folder, the closed
    folders on the way) has a distinct stand-in on the worker that maps back to it."""
    closed = tmp_path / "closed"
    (closed / "inner" / "subs").mkdir(parents=True)
    (closed / "inner" / "elsewhere").mkdir()
    closed.chmod(0o700)
    (closed / "inner").chmod(0o700)
    source = b"def zero_pad(X, pad):\n    return X\n"
    if symlinked:
        (closed / "inner" / "elsewhere" / "real.py").write_bytes(source)
        (closed / "inner" / "subs" / "sub.py").symlink_to(
            closed / "inner" / "elsewhere" / "real.py"
        )
    else:
        (closed / "inner" / "subs" / "sub.py").write_bytes(source)
    monkeypatch.chdir(closed / "inner")
    path = Path("subs", "sub.py")
    submission = cluster.Submission.read(path)
    assert submission.closed[-2:] == (str(closed.resolve()), str((closed / "inner").resolve()))

    root = Path(tempfile.mkdtemp(prefix="refconv-dask-")).resolve()
    try:
        given, mapping = cluster._layout(root, submission)
        assert given.read_bytes() == source

        def forms(p):
            return [str(p), str(p.resolve()), str(p.parent.resolve())] + list(
                cluster.closed_folders(p.resolve())
            )

        assert len(set(forms(given))) == len(forms(given))  # all distinct
        assert cluster._rewrite(forms(given), mapping) == forms(path)
        quoted = f"load_target({str(given.resolve())!r})"
        assert cluster._rewrite(quoted, mapping) == f"load_target({str(path.resolve())!r})"
    finally:
        shutil.rmtree(root)


def killing_task(victim: str, log: Path):
    """A task that kills its worker process when it is given ``victim`` (a test seam: a
    submission cannot kill its worker, it runs in a confined subprocess), and grades the others
    normally. Nested, so that cloudpickle sends it by value."""

    def task(submission, options, limit, plot=False):
        if submission.name == victim:
            with open(log, "a") as attempts:
                attempts.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return cluster.grade_task(submission, options, limit, plot)

    return task


def test_a_lost_worker_is_retried_then_an_error_row(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for stem in ("correct_loops", "bug_db_flat"):
        shutil.copy(ZOO / f"{stem}.py", folder / f"{stem}.py")
    (folder / "a_killer.py").write_text("# its task kills the worker\n")
    submissions = submissions_in(folder)
    log = tmp_path / "attempts.txt"
    options = [*OPTIONS[:-2], "--functions", "conv_backward"]
    graded = grade_on_dask(
        submissions,
        options,
        LIMIT,
        "local:2",
        retries=1,
        _task=killing_task("a_killer.py", log),
    )
    assert [Path(d["target"]).name for _, d in graded] == [p.name for p in submissions]
    code, document = graded[0]
    assert code == 1
    assert document["target"] == str(folder / "a_killer.py")
    assert document["results"] == []
    assert "worker lost" in document["error"] and "after 1 retries" in document["error"]
    assert len(log.read_text().split()) == 2  # the first run and its one retry, each killed
    assert [code for code, _ in graded[1:]] == [1, 0]  # bug_db_flat, correct_loops
    assert graded[1][1]["results"][0]["status"] == "fail"
    assert graded[2][1]["results"][0]["status"] == "pass"


def fake_task(submission, options, limit, plot=False):
    """Stands for grade_task without a judge: a document naming the file, and a plot."""
    time.sleep(0.05 * (len(submission.name) % 3))  # finish out of order
    document = {"target": submission.target, "size": len(submission.data), "results": []}
    return Graded(0, document, {"pool_forward.png": b"png:" + submission.data} if plot else {})


def test_tcp_scheduler_order_and_plots(tmp_path):
    from distributed import LocalCluster

    folder = tmp_path / "subs"
    folder.mkdir()
    names = [f"s{i:02d}_{'x' * i}.py" for i in range(8)]
    for name in names:
        (folder / name).write_text(name)
    with LocalCluster(
        n_workers=1, threads_per_worker=2, host="127.0.0.1", dashboard_address=None
    ) as local:
        graded = grade_on_dask(
            submissions_in(folder),
            [],
            LIMIT,
            local.scheduler_address,
            plot_root=tmp_path / "plots",
            _task=fake_task,
        )
    assert [d["target"] for _, d in graded] == [str(folder / n) for n in names]
    assert [d["size"] for _, d in graded] == [len(n) for n in names]
    for name in names:
        assert (tmp_path / "plots" / Path(name).stem / "pool_forward.png").read_bytes() == (
            b"png:" + name.encode()
        )


@pytest.mark.parametrize(
    "address",
    ["local:0", "local:x", "local:", "http://127.0.0.1:8786", "tcp://host", "tcp://:8786", ""],
)
def test_malformed_address_fails_before_any_work(address):
    def never(*args):
        raise AssertionError("no task may run")

    with pytest.raises(ValueError, match=f"--dask {address!r}"):
        grade_on_dask([Path("/nonexistent/x.py")], [], LIMIT, address, _task=never)


def test_well_formed_addresses():
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.5:8786") == ("tcp", "tcp://10.0.0.5:8786")
    assert parse_address("tcp://[::1]:8786") == ("tcp", "tcp://[::1]:8786")


def test_unreachable_scheduler_is_a_clear_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler within 1 s"):
        grade_on_dask([], [], LIMIT, f"tcp://127.0.0.1:{port}", connect_timeout=1)
    assert time.perf_counter() - start < 30


def test_missing_distributed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'refconv\[dask\]'"):
        grade_on_dask([], [], LIMIT, "local:1")


def test_cli_rejects_bad_dask_options_before_any_work(tmp_path, capsys):
    from refconv.cli import main

    (tmp_path / "a.py").write_text("def zero_pad(X, pad):\n    return X\n")
    assert main(["check", str(tmp_path), "--dask", "local:0"]) == 2
    assert "local:0" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "a.py"), "--dask", "local:2"]) == 2
    assert "grades a folder" in capsys.readouterr().err
    assert main(["check", str(tmp_path), "--dask", "local:2", "--workers", "2"]) == 2
    assert "--workers" in capsys.readouterr().err
