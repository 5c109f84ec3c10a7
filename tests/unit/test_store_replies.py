"""FT.SEARCH replies are read the same in both Redis protocols (redis-py speaks RESP3 by default)."""

from __future__ import annotations

from litellm_semcache.store.redis_store import _search_rows


def test_resp3_map_reply() -> None:
    reply = {
        b"total_results": 2,
        b"results": [
            {
                b"id": b"c:entry:aa",
                b"extra_attributes": {b"vector_distance": b"0.1", b"query": b"hi"},
                b"values": [],
            },
            {b"id": b"c:entry:bb", b"extra_attributes": {b"vector_distance": b"0.3"}, b"values": []},
        ],
    }
    assert _search_rows(reply) == [
        (b"c:entry:aa", {"vector_distance": b"0.1", "query": b"hi"}),
        (b"c:entry:bb", {"vector_distance": b"0.3"}),
    ]


def test_resp2_flat_reply() -> None:
    reply = [
        2,
        b"c:entry:aa",
        [b"vector_distance", b"0.1", b"query", b"hi"],
        b"c:entry:bb",
        [b"vector_distance", b"0.3"],
    ]
    assert _search_rows(reply) == [
        (b"c:entry:aa", {"vector_distance": b"0.1", "query": b"hi"}),
        (b"c:entry:bb", {"vector_distance": b"0.3"}),
    ]


def test_empty_replies() -> None:
    assert _search_rows({b"total_results": 0, b"results": []}) == []
    assert _search_rows([0]) == []
