"""A first contract check that runs on every backend."""

from __future__ import annotations

from ninefold.store import MetadataStore


def test_new_store_is_created_at_head_and_reopens(store: MetadataStore) -> None:
    assert store.schema_action == "created"
    again = MetadataStore(store.url)
    assert again.schema_action == "current"
    again.close()
