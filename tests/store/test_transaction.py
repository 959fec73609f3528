"""Store.transaction(): several writes saved together or not at all."""

from __future__ import annotations

import pytest

from kaptools.errors import InvalidInputError, StoreError
from kaptools.store import Store


@pytest.fixture()
def store() -> Store:
    s = Store.in_memory()
    s.add_patient("SYN-0001", "Test One", birth_date=None, sex="female", weight_kg=70)
    return s


def _kinds(store: Store) -> list[str]:
    return [r.kind for k in ("note_a", "note_b") for r in store.latest_records(k, "SYN-0001")]


def test_writes_in_a_transaction_are_saved_together(store: Store) -> None:
    with store.transaction():
        first = store.save_record("note_a", "SYN-0001", {"x": 1})
        # a read inside the block sees the block's own writes
        assert [r.record_id for r in store.latest_records("note_a", "SYN-0001")] == [
            first.record_id
        ]
        store.save_record("note_b", "SYN-0001", {"x": 2})
    assert sorted(_kinds(store)) == ["note_a", "note_b"]


def test_an_error_in_the_block_rolls_back_every_write(store: Store) -> None:
    audit_before = len(store.audit_entries())
    with pytest.raises(InvalidInputError):
        with store.transaction():
            store.save_record("note_a", "SYN-0001", {"x": 1})
            store.save_record("Not A Kind", "SYN-0001", {"x": 2})
    assert _kinds(store) == []
    assert len(store.audit_entries()) == audit_before


def _refuse(record_id: str, version: int) -> list:
    raise InvalidInputError("companion refused (test)")


def test_a_failed_write_caught_inside_the_block_still_saves_nothing(store: Store) -> None:
    """Catching a failed write and going on would commit half of it: refused instead."""
    with pytest.raises(StoreError, match="none of its writes were saved"):
        with store.transaction():
            store.save_record("note_a", "SYN-0001", {"x": 1})
            try:  # fails after its record row was added to the transaction
                store.save_record("note_b", "SYN-0001", {"x": 2}, companions=_refuse)
            except InvalidInputError:
                pass
    assert _kinds(store) == []


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            with store.transaction():
                store.save_record("note_a", "SYN-0001", {"x": 1})
            raise RuntimeError("after the inner block")
    assert _kinds(store) == []
    with store.transaction():
        with store.transaction():
            store.save_record("note_a", "SYN-0001", {"x": 1})
    assert _kinds(store) == ["note_a"]


def test_the_audit_chain_holds_after_a_transaction(store: Store) -> None:
    with store.transaction():
        for n in range(3):
            store.save_record("note_a", "SYN-0001", {"n": n})
    assert store.verify_audit().ok
