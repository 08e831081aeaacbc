"""The fast query-string parser agrees with the standard library's on any input."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from utilmeta.core.request.request import Request, _pairs

query_chars = st.text(alphabet=st.sampled_from(list("ab=&%+20FfZz;é ?#")), max_size=40)


@settings(max_examples=500, deadline=None)
@given(query_chars)
def test_pairs_match_parse_qsl(qs):
    assert _pairs(qs) == parse_qsl(qs, keep_blank_values=True)


@given(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=6))
def test_query_and_lists_roundtrip(items):
    from urllib.parse import urlencode

    request = Request("GET", "/", urlencode(items))
    expected: dict[str, list[str]] = {}
    for k, v in items:
        expected.setdefault(k, []).append(v)
    assert request.query_lists == expected
    assert request.query == {k: v[-1] for k, v in request.query_lists.items()}
