"""The journal checker itself, without a cluster: each kind of damage the fault
tests look for is reported, and keys of failed operations may go either way."""

from __future__ import annotations

from tests.faults.harness import KEY_SPAN, check_read, expected_state


def journal() -> list[dict]:
    ok = {"ok": True, "writer": 0, "t0": 0.0, "t": 0.0}
    failed = {"ok": False, "writer": 0, "t0": 0.0, "t": 0.0, "error": "timeout"}
    return [
        {**ok, "op": "insert", "keys": [0, 1, 2, 3]},
        {**failed, "op": "insert", "keys": [4, 5]},
        {**ok, "op": "delete", "keys": [1]},
        {**failed, "op": "delete", "keys": [2]},
        {**ok, "op": "insert", "keys": [6, 7], "writer": 1},
    ]


def test_the_journal_sorts_keys_into_present_absent_and_unknown() -> None:
    expected = expected_state(journal())
    assert expected.present == {0, 3, 6, 7}
    assert expected.absent == {1}
    assert expected.unknown == {2, 4, 5}
    assert (expected.acked_ops, expected.failed_ops) == (3, 2)
    assert expected.key_ranges == [(0, 6), (KEY_SPAN, 8)]


def test_a_read_that_keeps_the_guarantee_passes_whatever_the_unknown_keys_did() -> None:
    expected = expected_state(journal())
    assert check_read(expected, [0, 3, 6, 7], 4) == []
    assert check_read(expected, [0, 2, 3, 4, 5, 6, 7], 7) == []


def test_each_kind_of_damage_is_reported() -> None:
    expected = expected_state(journal())
    assert "lost" in " ".join(check_read(expected, [0, 6, 7], 3))
    assert "duplicate" in " ".join(check_read(expected, [0, 3, 3, 6, 7], 5))
    assert "deletes undone" in " ".join(check_read(expected, [0, 1, 3, 6, 7], 5))
    assert "never written" in " ".join(check_read(expected, [0, 3, 6, 7, 99], 5))
    assert "count(*)" in " ".join(check_read(expected, [0, 3, 6, 7], 5))
