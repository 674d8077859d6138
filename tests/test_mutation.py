"""The mutation campaign's machinery (tests/mutation/): the mutator and the kill criterion.

Fast: the mutants are generated once, and only two in-process checks run (a few examples each).
The campaign itself (`python tests/mutation/campaign.py`) is too long for the test suite.
"""

import ast
import difflib
import sys
from pathlib import Path

import pytest

from refconv.conformance.runner import run_function
from refconv.conformance.target import load_target

MUTATION_DIR = Path(__file__).parent / "mutation"
sys.path.insert(0, str(MUTATION_DIR))
import campaign  # noqa: E402
import mutate  # noqa: E402

sys.path.remove(str(MUTATION_DIR))

REFERENCE_SOURCE = mutate.REFERENCE.read_text()


@pytest.fixture(scope="module")
def mutants():
    return mutate.mutants()


def test_mutants_are_valid_distinct_python(mutants):
    assert len(mutants) > 300
    original = ast.dump(ast.parse(REFERENCE_SOURCE))
    dumps = set()
    for m in mutants:
        tree = ast.parse(m.source)  # valid Python
        dump = ast.dump(tree)
        assert dump != original, m.description
        dumps.add(dump)
        compile(tree, f"mutant {m.index}", "exec")
    assert len(dumps) == len(mutants)  # distinct programs, not just distinct texts
    assert [m.index for m in mutants] == list(range(len(mutants)))


def test_each_mutant_changes_one_place_of_its_function(mutants):
    functions = {
        node.name: (node.lineno, node.end_lineno)
        for node in ast.parse(REFERENCE_SOURCE).body
        if isinstance(node, ast.FunctionDef)
    }
    assert set(functions) == set(campaign.SEED_FUNCTIONS)
    for m in mutants[::7]:
        matcher = difflib.SequenceMatcher(
            None, REFERENCE_SOURCE.splitlines(), m.source.splitlines(), autojunk=False
        )
        changed = [op for op in matcher.get_opcodes() if op[0] != "equal"]
        assert len(changed) == 1, m.description
        first, last = functions[m.function]
        assert first <= changed[0][1] + 1 <= last
        assert changed[0][1] + 1 == m.line


def test_deterministic_and_every_operator_fires(mutants):
    again = mutate.mutants()
    assert [(m.key, m.description) for m in again] == [(m.key, m.description) for m in mutants]
    fired = {m.operator for m in mutants}
    assert fired == set(mutate.OPERATORS)
    assert {m.function for m in mutants} == set(campaign.SEED_FUNCTIONS)
    only = mutate.mutants(only="distribute_value")
    assert only and all(m.function == "distribute_value" for m in only)
    assert [m.index for m in only] == [m.index for m in mutants if m.function == "distribute_value"]


def test_dependents_follow_calls_and_caches():
    executed = campaign.executed_by_check(campaign.call_graph(REFERENCE_SOURCE))
    assert campaign.dependents("zero_pad", executed) == ["conv_forward", "conv_backward"]
    assert campaign.dependents("conv_single_step", executed) == ["conv_forward", "conv_backward"]
    assert campaign.dependents("conv_forward", executed) == ["conv_backward"]
    assert campaign.dependents("pool_forward", executed) == ["pool_backward"]
    assert campaign.dependents("create_mask_from_window", executed) == ["pool_backward"]
    assert campaign.dependents("distribute_value", executed) == ["pool_backward"]
    assert campaign.dependents("conv_backward", executed) == []
    assert campaign.dependents("pool_backward", executed) == []


def test_a_killable_mutant_is_killed_and_the_reference_is_not(mutants, tmp_path):
    (db_assigned,) = [
        m
        for m in mutants
        if m.operator == "accumulate" and m.description.startswith("`db[:, :, :, c] +=")
    ]
    path = tmp_path / "mutant.py"
    path.write_text(db_assigned.source)
    mutant = load_target(path).namespace
    reference = load_target(mutate.REFERENCE).namespace
    killed = run_function(mutant, "conv_backward", max_examples=5, timeout=None)
    assert killed.status == "fail"
    assert "db" in killed.message
    kept = run_function(reference, "conv_backward", max_examples=5, timeout=None)
    assert kept.status == "pass"
