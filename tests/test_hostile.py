"""Hostile submissions (tests/hostile/) against the real command line: the verdict is the judge's.

Each attack runs as ``python -m refconv check FILE --json REPORT`` in a fresh folder. Whatever
it tries, the checked function does not pass, the exit status and the report are the judge's,
the checker ends by itself with a reason, and nothing of the target outlives the check.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HOSTILE = Path(__file__).parent / "hostile"
ZOO = Path(__file__).parent / "zoo"

#: Options that keep each attack short: few examples, short per-call and import limits.
FAST = ["--max-examples", "3", "--timeout", "2", "--import-timeout", "10"]

#: Namespaces are what makes the attacks on other processes and on files harmless; they are
#: expected wherever the judge runs as root on Linux (CI does).
NAMESPACES = sys.platform.startswith("linux") and os.geteuid() == 0


def check(tmp_path: Path, source: Path, *options: str, **placeholders: str):
    """Run ``refconv check`` on a copy of ``source`` (placeholders filled in); return the
    completed process and the JSON report (None when there is none)."""
    text = source.read_text()
    for name, value in placeholders.items():
        text = text.replace(f"__{name.upper()}__", value)
    target = tmp_path / "submission" / source.name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "refconv", "check", str(target), "--json", str(report), *FAST,
         *options],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,  # a hang detector, not a budget: every attack ends in seconds
    )
    document = json.loads(report.read_text()) if report.exists() else None
    return done, document


def verdicts(document: dict) -> dict[str, tuple[str, str]]:
    """function -> (status, failure kind)."""
    return {
        r["function"]: (r["status"], (r.get("counterexample") or {}).get("kind", ""))
        for r in document["results"]
    }


#: A wrong answer fails on its shape or, for pad = 0, on its values (whichever shrinks smaller).
WRONG = {"shape", "value"}

#: attack file -> {function checked: failure kinds it may fail with}
ATTACKS = {
    "exit_status_atexit.py": {"zero_pad": WRONG},
    "exit_in_call.py": {"zero_pad": {"crash"}},
    "sys_exit_in_call.py": {"zero_pad": {"exception"}},
    "fork_bomb.py": {"zero_pad": {"timeout"}},
    "segfault.py": {"zero_pad": {"crash"}},
    # MemoryError at the address-space limit, or the timeout first while filling 2 GiB
    "memory_hog.py": {"zero_pad": {"exception", "timeout"}, "conv_single_step": {"exception"}},
    "c_level_hang.py": {"zero_pad": {"timeout"}},
    "call_loop.py": {"zero_pad": {"timeout"}},
    "ignore_signals.py": {"zero_pad": {"timeout"}},
    # process 1 of a PID namespace cannot stop itself: then it answers, wrongly
    "stop_self.py": {"zero_pad": {"timeout"} | WRONG},
    "lying_array.py": {"zero_pad": {"value"}, "conv_single_step": {"value"}},
    "monkeypatch.py": {"zero_pad": WRONG},
    # the forged frames are read as answers (None: a type failure) until the junk breaks it
    "protocol_forge.py": {"zero_pad": {"type", "crash"}},
    # refused as too large a frame; on a loaded machine building 320 MB may hit the timeout
    "huge_output.py": {"zero_pad": {"crash", "timeout"}},
    "flood_output.py": {"zero_pad": WRONG},
    "report_rewrite.py": {"zero_pad": WRONG},
    "fake_report.py": {"zero_pad": WRONG},
}


def assert_fails_as(document: dict, expected: dict[str, set[str]]) -> None:
    got = verdicts(document)
    assert set(got) == set(expected)
    for function, kinds in expected.items():
        status, kind = got[function]
        assert status == "fail" and kind in kinds, (function, status, kind)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_does_not_pass(tmp_path, attack):
    expected = ATTACKS[attack]
    report = str(tmp_path / "report.json")
    done, document = check(
        tmp_path, HOSTILE / attack, "--functions", ",".join(expected), report=report
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert document is not None, done.stderr
    assert_fails_as(document, expected)
    assert f"{len(expected)} functions: 0 passed, {len(expected)} failed" in done.stdout
    assert "Traceback" not in done.stderr  # the checker itself never crashed


def test_crash_reasons_say_what_happened(tmp_path):
    done, document = check(tmp_path, HOSTILE / "segfault.py", "--functions", "zero_pad")
    message = document["results"][0]["message"]
    assert "SIGSEGV" in message
    done, document = check(tmp_path, HOSTILE / "exit_in_call.py", "--functions", "zero_pad")
    assert "exited with status 0" in document["results"][0]["message"]
    done, document = check(
        tmp_path, HOSTILE / "huge_output.py", "--functions", "zero_pad", "--timeout", "120"
    )
    assert "protocol" in document["results"][0]["message"]


def test_the_report_stays_the_judges(tmp_path):
    report = tmp_path / "report.json"
    done, document = check(
        tmp_path, HOSTILE / "report_rewrite.py", "--functions", "zero_pad", report=str(report)
    )
    assert document["target"].endswith("report_rewrite.py")
    time.sleep(1)  # the target's child rewrote it every 0.05 s, had it survived
    assert json.loads(report.read_text()) == document


def test_a_fake_report_printed_by_the_target_does_not_reach_the_judges_output(tmp_path):
    done, document = check(tmp_path, HOSTILE / "fake_report.py", "--functions", "zero_pad")
    assert "ALL FUNCTIONS PASSED" not in done.stdout + done.stderr


def test_infinite_loop_at_import_is_a_load_error_not_a_hang(tmp_path):
    done, document = check(tmp_path, HOSTILE / "import_loop.py")
    assert done.returncode == 2
    assert "did not finish within 10 s" in document["error"]


def test_hanging_module_getattr_is_a_load_error(tmp_path):
    done, document = check(tmp_path, HOSTILE / "hostile_getattr.py")
    assert done.returncode == 2
    assert "did not finish" in document["error"]


@pytest.mark.skipif(not NAMESPACES, reason="needs Linux namespaces (root): kill(-1) is fatal")
def test_killing_everything_in_sight_kills_nothing_of_the_judge(tmp_path):
    done, document = check(tmp_path, HOSTILE / "kill_parent.py", "--functions", "zero_pad")
    assert done.returncode == 1
    assert_fails_as(document, {"zero_pad": WRONG})


@pytest.mark.skipif(not NAMESPACES, reason="needs Linux namespaces (root)")
def test_no_process_of_the_target_survives_the_check(tmp_path):
    done, document = check(tmp_path, HOSTILE / "surviving_child.py", "--functions", "zero_pad")
    assert done.returncode == 1
    survivors = subprocess.run(["pgrep", "-f", "sleep 31337"], capture_output=True, text=True)
    assert survivors.stdout.strip() == ""


@pytest.mark.skipif(not NAMESPACES, reason="needs Linux namespaces (root)")
def test_no_network(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    reached: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            reached.append(connection.recv(100))
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        done, document = check(
            tmp_path, HOSTILE / "network.py", "--functions", "zero_pad", port=str(port)
        )
    finally:
        stop.set()
        thread.join()
        server.close()
    assert_fails_as(document, {"zero_pad": WRONG})
    assert reached == []


@pytest.mark.skipif(not NAMESPACES, reason="needs Linux namespaces (root)")
def test_files_of_the_judge_can_be_neither_read_nor_written(tmp_path):
    secret = tmp_path / "private" / "secret.txt"
    secret.parent.mkdir(mode=0o700)
    secret.write_text("the judge's secret")
    canary = tmp_path / "canary.txt"
    canary.write_text("intact")
    canary.chmod(0o666)
    done, document = check(
        tmp_path, HOSTILE / "read_secret.py", "--functions", "zero_pad", secret=str(secret)
    )
    assert_fails_as(document, {"zero_pad": WRONG})
    done, document = check(
        tmp_path, HOSTILE / "write_outside.py", "--functions", "zero_pad", canary=str(canary)
    )
    assert_fails_as(document, {"zero_pad": WRONG})
    assert canary.read_text() == "intact"
    assert not Path("/tmp/refconv-hostile-was-here").exists()


@pytest.mark.skipif(not NAMESPACES, reason="needs Linux namespaces (root)")
def test_a_vandal_in_a_batch_harms_no_neighbour(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(ZOO / "correct_vectorised.py", folder / "alice.py")
    shutil.copy(HOSTILE / "batch_vandal.py", folder / "mallory.py")
    shutil.copy(HOSTILE / "kill_parent.py", folder / "trudy.py")
    shutil.copy(ZOO / "correct_loops.py", folder / "zed.py")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    report = tmp_path / "batch.json"
    done = subprocess.run(
        [sys.executable, "-m", "refconv", "check", str(folder), "--json", str(report),
         "--functions", "zero_pad,pool_forward", "--workers", "2", *FAST],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    documents = json.loads(report.read_text())["submissions"]
    by_name = {Path(d["target"]).name: verdicts(d) for d in documents}
    assert by_name["alice.py"] == {"zero_pad": ("pass", ""), "pool_forward": ("pass", "")}
    assert by_name["zed.py"] == by_name["alice.py"]
    assert by_name["mallory.py"]["zero_pad"][0] == "fail"
    assert by_name["trudy.py"]["zero_pad"][0] == "fail"
    rows = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) == 4
