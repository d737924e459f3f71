"""The source registry: the key table the config checks, without importing sources."""

from __future__ import annotations


def test_the_source_keys_table_is_what_each_class_takes():
    from ownfeed.sources.registry import SOURCE_KEYS, SOURCE_TYPES, source_class

    assert set(SOURCE_KEYS) == set(SOURCE_TYPES)
    for type_name in SOURCE_TYPES:
        assert source_class(type_name).keys is SOURCE_KEYS[type_name], type_name
