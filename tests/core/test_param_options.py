"""Every option of every parameter marker, and of ``utype.Param`` / ``utype.Field`` used as a
parameter default, is either enforced (a request that violates it is refused, one that meets it
is served), documented (``description``/``example``/``deprecated`` reach the OpenAPI document)
or refused when the API class is created, naming it. Never silently ignored.

The options are read from the signatures, so a keyword added to a marker, or an option added to
utype, fails here until it has a probe."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from optional import optional_import

from utilmeta import UtilMeta
from utilmeta.core import api, request
from utilmeta.core.request.params import UTYPE_OPTIONS, Param
from utilmeta.core.server.service import _clear_service
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import DeclarationError

utype = optional_import("utype", "pip install 'utilmeta[utype]'")

MARKERS: list[type[Param]] = sorted(
    {obj for name in request.__all__ if isinstance(obj := getattr(request, name), type) and issubclass(obj, Param)},
    key=lambda c: c.__name__,
)

#: the options that only document a parameter: they must reach the OpenAPI document
DOCUMENTING = {"description": "the probe", "example": "ex-1", "deprecated": True}


def keywords(cls: type) -> list[str]:
    sig = inspect.signature(cls)
    assert all(p.kind is not p.VAR_KEYWORD for p in sig.parameters.values()), (
        f"{cls.__name__} takes **kwargs: its options cannot be checked one by one"
    )
    return list(sig.parameters)


@dataclass
class Probe:
    """An option set to ``value`` on a parameter of ``type``: ``good`` (wire values) is served
    and echoed as ``echo``; ``bad`` is answered with ``status``. ``None`` wire value: absent."""

    value: Any
    type: Any = str
    good: Any = "abc"
    echo: Any = "abc"
    bad: Any = None
    status: int = 400
    extra: dict[str, Any] = field(default_factory=dict)


#: option -> probe, for single parameters (query, path, header, cookie, body field)
PROBES: dict[str, Probe] = {
    "ge": Probe(5, int, "5", 5, "4"),
    "gt": Probe(5, int, "6", 6, "5"),
    "le": Probe(5, int, "5", 5, "6"),
    "lt": Probe(5, int, "4", 4, "5"),
    "multiple_of": Probe(5, int, "10", 10, "7"),
    "min_length": Probe(3, str, "abc", "abc", "ab"),
    "max_length": Probe(3, str, "abc", "abc", "abcd"),
    "length": Probe(3, str, "abc", "abc", "ab"),
    "regex": Probe("^a+$", str, "aaa", "aaa", "ab"),
    "pattern": Probe("^a+$", str, "aaa", "aaa", "ab"),
    "enum": Probe(["a", "b"], str, "a", "a", "c"),
    "const": Probe("a", str, "a", "a", "c"),
    "default": Probe("dflt", str, None, "dflt"),
    "required": Probe(True, Optional[str], "abc", "abc", None),
    "alias": Probe("wire_name", str, "abc", "abc"),  # bad: sent under the Python name
}


def sender(location: str) -> Callable[[TestClient, str, Any], Any]:
    """How to send ``value`` for the parameter ``wire`` in ``location``."""

    def send(client: TestClient, wire: str, value: Any) -> Any:
        if location == "path":
            return client.get(f"/p/{value}" if value is not None else "/p/")
        if location == "body":
            return client.post("/p", data={"other": "1"} if value is None else {wire: value})
        if value is None:
            return client.get("/p")
        if location == "header":
            return client.get("/p", headers={wire: value})
        if location == "cookie":
            return client.get("/p", headers={"Cookie": f"{wire}={value}"})
        return client.get("/p", params={wire: value})

    return send


def endpoint(default: Any, tp: Any, location: str) -> type[api.API]:
    marker = request.params.as_marker(default)
    wire_route = "p/{" + ((marker.alias if marker else None) or "x") + "}" if location == "path" else "p"
    method = api.post if location == "body" else api.get

    def handler(self: Any, x: tp = default) -> Any:  # type: ignore[valid-type]
        return {"x": x}

    handler.__annotations__ = {"x": tp, "return": Any}

    class ProbeAPI(api.API):
        p = method(wire_route)(handler)

    return ProbeAPI


def check_single(make: Callable[[Any], Any], location: str, option: str) -> str:
    """Declare ``x`` with ``make(probe.value)``; enforced, or refused naming ``option``."""
    probe = PROBES[option]
    try:
        default = make(probe.value)
        cls = endpoint(default, probe.type, location)
    except (DeclarationError, TypeError, ValueError) as e:
        assert option in str(e), f"{option} refused without being named: {e}"
        return "refused"
    client = TestClient(cls)
    marker = request.params.as_marker(default)
    wire = (marker.alias if marker is not None and marker.alias else None) or "x"
    send = sender(location)
    good = send(client, wire, probe.good)
    assert good.status_code == 200, f"{option} on {location}: good value refused: {good.content!r}"
    assert json.loads(good.content)["x"] == probe.echo, f"{option} on {location}: {good.content!r}"
    if option == "alias":
        bad = send(client, "x", probe.good)
        assert bad.status_code == 400 or location == "path", f"alias on {location}: Python name accepted"
        return "enforced"
    if option == "default":
        return "enforced"
    bad = send(client, wire, probe.bad)
    want = 404 if location == "path" and option in ("regex", "pattern") else probe.status
    assert bad.status_code == want, f"{option} on {location}: {probe.bad!r} gave {bad.status_code} {bad.content!r}"
    if want == 400:
        names = [e["name"] for e in json.loads(bad.content)["errors"]]
        assert wire in names, f"{option} on {location}: error does not name {wire!r}: {names}"
    return "enforced"


def check_documented(make: Callable[[Any], Any], location: str, option: str, tp: Any = str) -> str:
    from utilmeta.ops.openapi import generate

    try:
        cls = endpoint(make(DOCUMENTING[option]), tp, location)
    except (DeclarationError, TypeError) as e:
        assert option in str(e), e
        return "refused"
    _clear_service()
    try:
        doc = generate(UtilMeta(__name__, backend="wsgi", api=cls, route="/"))
    finally:
        _clear_service()
    text = json.dumps(doc)
    want = {"description": '"the probe"', "example": '"ex-1"', "deprecated": '"deprecated": true'}[option]
    assert want in text, f"{option} on {location} does not reach the OpenAPI document"
    return "documented"


SINGLE = {m: m.location for m in MARKERS if not m.container}


@pytest.mark.parametrize("marker", [m for m in MARKERS if not m.container], ids=lambda m: m.__name__)
def test_every_keyword_of_single_markers(marker: type[Param]) -> None:
    location = "path" if marker.location == "path" else marker.location
    outcomes = {}
    for option in keywords(marker):
        make: Callable[[Any], Any] = lambda v, o=option: marker(**{o: v})
        if option in DOCUMENTING:
            outcomes[option] = check_documented(make, location, option)
        elif location == "path" and option in ("default", "required"):
            continue  # a trailing path parameter's default: the path-template tests
        else:
            assert option in PROBES, f"{marker.__name__}({option}=...): a new option; add a probe here"
            outcomes[option] = check_single(make, location, option)
    # a marker's own keyword is never refused: its signature is the contract
    assert outcomes and set(outcomes.values()) <= {"enforced", "documented"}, outcomes


@pytest.mark.parametrize("marker", [m for m in MARKERS if m.container], ids=lambda m: m.__name__)
def test_every_keyword_of_whole_location_markers(marker: type[Param]) -> None:
    from utilmeta.core.request.params import Body

    options = keywords(marker)
    if not issubclass(marker, Body):
        assert options == [], f"{marker.__name__} takes {options}: each needs a probe here"
        return
    probes = {
        # option -> (marker kwargs, request kwargs of a violating request, its status)
        "content_type": ({"content_type": Body.PLAIN}, {"json": {"a": 1}}, 415),
        "max_length": ({"max_length": 8}, {"content": b"x" * 9, "headers": {"Content-Type": "text/plain"}}, 413),
        "required": ({"required": True}, {}, 400),
        "default": ({"default": "dflt"}, None, 0),
    }
    for option in options:
        if option in DOCUMENTING:
            check_documented(lambda v, o=option: marker(**{o: v}), "body", option, dict)
            continue
        assert option in probes, f"{marker.__name__}({option}=...): a new option; add a probe here"
        kwargs, bad, status = probes[option]
        if option == "content_type" and "content_type" not in inspect.signature(marker).parameters:
            continue

        class BodyAPI(api.API):
            @api.post
            def p(self, x: str = marker(**kwargs)) -> Any:
                return {"x": x}

        client = TestClient(BodyAPI)
        if bad is None:  # default: an empty body gives it
            assert json.loads(client.post("/p").content) == {"x": "dflt"}
            continue
        r = client.post("/p", **bad)
        assert r.status_code == status, f"{marker.__name__}({option}=...): {r.status_code} {r.content!r}"


def utype_options(cls: type) -> list[str]:
    return [n for n, p in inspect.signature(cls).parameters.items() if p.kind is p.KEYWORD_ONLY or n == "default"]


#: a value for every utype option we refuse (one that differs from utype's default, so it is "given")
REFUSED_SAMPLES: dict[str, Any] = {
    "alias_from": ["a"],
    "case_insensitive": True,
    "readonly": True,
    "writeonly": True,
    "mode": "r",
    "default_factory": list,
    "defer_default": True,  # given with a default: utype wants one
    "discriminator": "kind",
    "no_input": True,
    "no_output": True,
    "on_error": "throw",
    "immutable": True,
    "repr": False,
    "dependencies": ["a"],
    "title": "T",
    "max_digits": 3,
    "decimal_places": 1,
    "round": 2,
    "contains": int,
    "max_contains": 1,
    "min_contains": 1,
    "unique_items": True,
}


@pytest.mark.parametrize("kind", ["Param", "Field"])
@pytest.mark.parametrize("location", ["query", "path"])
def test_every_utype_option_is_enforced_or_refused(kind: str, location: str) -> None:
    cls = getattr(utype, kind)
    seen = {}
    for option in utype_options(cls):
        make: Callable[[Any], Any] = lambda v, o=option: cls(**{o: v})
        if option in DOCUMENTING:
            seen[option] = check_documented(make, location, option)
        elif option in UTYPE_OPTIONS:
            if location == "path" and option in ("default", "required"):
                continue  # a path parameter is always given
            seen[option] = check_single(make, location, option)
        else:
            assert option in REFUSED_SAMPLES, f"utype.{kind}({option}=...): a new utype option; decide and probe it"
            extra = {"default": "d"} if option == "defer_default" else {}
            with pytest.raises(DeclarationError, match=option):
                endpoint(cls(**{option: REFUSED_SAMPLES[option]}, **extra), str, location)
            seen[option] = "refused"
    for option, outcome in seen.items():
        assert (outcome == "refused") == (option not in UTYPE_OPTIONS), (option, outcome)


def test_a_tutorial_style_division_by_a_gt_zero_parameter_is_a_400_not_a_500() -> None:
    class CalcAPI(api.API):
        @api.get
        def share(self, total: float, people: int = utype.Param(1, gt=0)) -> float:
            return total / people

    client = TestClient(CalcAPI)
    assert client.get("/share?total=9&people=3").json() == 3
    assert client.get("/share?total=9").json() == 9
    r = client.get("/share?total=9&people=0")
    assert r.status_code == 400
    assert r.json()["errors"][0]["name"] == "people"


def test_enum_on_a_list_parameter_and_required_false_without_a_default() -> None:
    class TagAPI(api.API):
        @api.get
        def tags(self, tag: list[str] = request.QueryParam(enum=["a", "b"], default=[])) -> list:
            return tag

        @api.get
        def maybe(self, q: str = request.QueryParam(required=False)) -> Optional[str]:
            return q

    client = TestClient(TagAPI)
    assert client.get("/tags?tag=a&tag=b").json() == ["a", "b"]
    assert client.get("/tags?tag=a&tag=z").status_code == 400
    assert client.get("/maybe").content == b""  # None
    assert client.get("/maybe?q=x").text == "x"


def test_utype_params_inside_annotated() -> None:
    from typing import Annotated

    class CountAPI(api.API):
        @api.get
        def count(self, n: Annotated[int, utype.Param(ge=2)] = 3) -> int:
            return n

    client = TestClient(CountAPI)
    assert client.get("/count").json() == 3 and client.get("/count?n=5").json() == 5
    assert client.get("/count?n=1").status_code == 400
    with pytest.raises(DeclarationError, match=r"parameter 'n': utype.Param option\(s\) round not supported"):

        class RoundAPI(api.API):
            @api.get
            def count(self, n: Annotated[float, utype.Param(round=2)] = 1.0) -> float:
                return n
