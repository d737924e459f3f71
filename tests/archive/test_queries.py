"""`queries.search`: bm25 order, the newest-matches bound, source filtering, snippets."""

import pytest

from ownfeed.archive import Archive, queries, store_posts
from ownfeed.archive.queries import search
from ownfeed.models import Post


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "a.db") as instance:
        yield instance


def post(number: int, text: str) -> Post:
    return Post(platform="web", native_id=f"n{number}", title=f"Post {number}", content_text=text)


def put(archive, source, *posts):
    with archive.transaction():
        store_posts(archive, list(posts), source)


def native(results):
    return [row["id"] for row in results]


def ids(*numbers):
    return [post(n, "").id for n in numbers]


FILLER = "lorem ipsum dolor sit amet " * 4


def test_best_match_first_among_all_matches(archive):
    put(archive, "blog", post(1, "kiwi " * 5 + FILLER), post(2, "kiwi " + FILLER))
    put(archive, "blog", post(3, "kiwi kiwi " + FILLER), post(4, FILLER))
    results = search(archive, "kiwi")
    assert native(results) == ids(1, 3, 2)
    assert "[kiwi]" in results[0]["snippet"]
    assert results[0]["title"] == "Post 1" and results[0]["source"] == "blog"
    assert set(results[0]) >= {"id", "platform", "url", "published_at", "author", "gone_at"}
    assert native(search(archive, "kiwi", limit=2)) == ids(1, 3)


def test_only_the_newest_matches_are_ranked_past_the_bound(archive):
    # post 1 is the best match, but archived first: with 3 ranked, the 3 newest compete
    put(archive, "blog", post(1, "kiwi " * 9 + FILLER))
    put(archive, "blog", *(post(n, "kiwi " * (n - 1) + FILLER) for n in range(2, 6)))
    assert native(search(archive, "kiwi", ranked=3, limit=3)) == ids(5, 4, 3)
    assert native(search(archive, "kiwi", ranked=3, limit=2)) == ids(5, 4)
    assert native(search(archive, "kiwi", ranked=100)) == ids(1, 5, 4, 3, 2)
    assert len(search(archive, "kiwi", ranked=2, limit=4)) == 4  # never fewer than asked


def test_equal_scores_newest_first(archive):
    put(archive, "blog", *(post(n, "kiwi " + FILLER) for n in range(1, 5)))
    assert native(search(archive, "kiwi")) == ids(4, 3, 2, 1)


@pytest.mark.parametrize("ranked", [1, 2, 3, 100])
def test_a_source_filter_finds_its_matches_older_than_the_newest_overall(archive, ranked):
    put(archive, "old", post(1, "kiwi kiwi " + FILLER), post(2, "kiwi " + FILLER))
    put(archive, "new", *(post(n, "kiwi " + FILLER) for n in range(3, 30)))
    put(archive, "old", post(30, FILLER))
    found = search(archive, "kiwi", source="old", ranked=ranked, limit=1)
    assert native(found) == ids(1 if ranked > 1 else 2)  # post 2 is the newer one
    assert native(search(archive, "kiwi", source="old", ranked=ranked)) == ids(1, 2)
    newest = search(archive, "kiwi", source="new", ranked=ranked, limit=3)
    assert native(newest) == ids(29, 28, 27)
    assert all(row["source"] == "new" for row in search(archive, "kiwi", source="new"))
    assert search(archive, "kiwi", source="nowhere", ranked=ranked) == []


def test_phrases_words_and_punctuation(archive):
    put(archive, "blog", post(1, "fresh kiwi juice " + FILLER), post(2, "kiwi fresh " + FILLER))
    assert native(search(archive, "kiwi fresh")) != []
    assert set(native(search(archive, "kiwi fresh"))) == set(ids(1, 2))
    assert search(archive, "banana") == []
    assert search(archive, '"(*') == []


@pytest.mark.parametrize("span", [0, 20_000])
def test_snippets_of_close_and_scattered_results(archive, monkeypatch, span):
    monkeypatch.setattr(queries, "_SNIPPET_SPAN", span)  # 0: one MATCH per result row
    put(archive, "blog", *(post(n, f"kiwi {'apfel ' * n}" + FILLER) for n in range(1, 6)))
    results = search(archive, "kiwi", limit=3)
    assert native(results) == ids(1, 2, 3)
    assert all(row["snippet"].startswith("[kiwi]") for row in results)
