"""A failure found by one run is replayed first by the next, fresh run: local and Redis databases.

The Redis test starts a real ``redis-server`` on loopback (``.ci/run`` installs it). It skips
only outside CI when the server is missing; in CI a missing server is a failure.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ZOO = Path(__file__).parent / "zoo"
RUN = """
import sys
from refconv.conformance.runner import open_database, run_function
from refconv.conformance.target import load_target
impl = load_target(sys.argv[1]).namespace
result = run_function(impl, "conv_forward", use_corpus=False, database=open_database(sys.argv[2]),
                      seed=int(sys.argv[3]), shrink_seconds=2)
print(result.status, result.found_at)
"""


def fresh_run(database, seed):
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(ZOO / "bug_flipped_kernel.py"), database, str(seed)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    status, found_at = done.stdout.split()
    assert status == "fail"
    return int(found_at)


def assert_replayed_first(database):
    first = fresh_run(database, seed=0)
    assert first > 1  # exploration needed several examples to find the bug
    assert fresh_run(database, seed=12345) == 1  # another seed: the saved failure comes first


def test_local_directory_database_replays_the_failure_first(tmp_path):
    assert_replayed_first(str(tmp_path / "examples"))


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_redis_database_shares_failures_between_runs(redis_url):
    assert_replayed_first(redis_url)


def test_cli_rejects_a_database_it_cannot_open():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "refconv",
            "check",
            "--database",
            "redis://127.0.0.1:1/0",
            "--functions",
            "zero_pad",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "cannot reach Redis" in done.stderr
