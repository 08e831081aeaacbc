"""Form-body parsing and encoding (``utilmeta.core.request.multipart``) and ``File``."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from utilmeta.core.file import MEMORY_LIMIT, File
from utilmeta.core.request.multipart import (
    encode_multipart,
    parse_multipart,
    parse_options_header,
    parse_urlencoded,
)
from utilmeta.utils.exceptions import BadRequest, HttpError, RequestEntityTooLarge, UnsupportedMediaType

CT = "multipart/form-data; boundary=xyz"


def raw_body(*parts: bytes, closed: bool = True) -> bytes:
    """A hand-built body with boundary ``xyz``: each part is its headers, a blank line, content."""
    out = b"".join(b"--xyz\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--xyz--\r\n" if closed else b"")


def close_all(files: dict[str, list[File]]) -> None:
    for items in files.values():
        for f in items:
            f.close()


@pytest.fixture
def parsed() -> Iterator[list[dict[str, list[File]]]]:
    """Collects parsed file dicts and closes their files after the test."""
    seen: list[dict[str, list[File]]] = []
    yield seen
    for files in seen:
        close_all(files)


def roundtrip(
    parsed: list[dict[str, list[File]]], **kwargs: object
) -> tuple[dict[str, list[str]], dict[str, list[File]]]:
    body, ctype = encode_multipart(**kwargs)  # type: ignore[arg-type]
    fields, files = parse_multipart(body, ctype)
    parsed.append(files)
    return fields, files


# -- round trips ---------------------------------------------------------------------------


def test_fields_roundtrip_with_repeats_and_unicode(parsed: list[dict[str, list[File]]]) -> None:
    fields, files = roundtrip(parsed, fields={"tag": ["a", "b", ""], "名前": "Ünïcødé ✓", "multi": "line\r\none"})
    assert fields == {"tag": ["a", "b", ""], "名前": ["Ünïcødé ✓"], "multi": ["line\r\none"]}
    assert files == {}


def test_several_files_per_field(parsed: list[dict[str, list[File]]]) -> None:
    fields, files = roundtrip(
        parsed,
        fields={"title": "docs"},
        files={
            "docs": [("a.txt", b"first"), ("b.json", b"{}", "application/json"), b"raw"],
            "one": ("photo.png", b"\x89PNG"),
        },
    )
    assert fields == {"title": ["docs"]}
    a, b, raw = files["docs"]
    assert (a.filename, a.content_type, a.read()) == ("a.txt", "text/plain", b"first")
    assert (b.filename, b.content_type, b.read()) == ("b.json", "application/json", b"{}")
    # bare bytes are named after the field, with no type to guess
    assert (raw.filename, raw.content_type, raw.read()) == ("docs", "application/octet-stream", b"raw")
    [photo] = files["one"]
    assert (photo.name, photo.content_type, photo.size, photo.is_image) == ("one", "image/png", 4, True)
    assert photo.headers["content-type"] == "image/png"
    assert 'filename="photo.png"' in photo.headers["content-disposition"]


def test_binary_content_with_crlf_and_boundary_like_bytes(parsed: list[dict[str, list[File]]]) -> None:
    boundary = "b0undary"
    nasty = b"\r\n--b0undar\r\n--b0undary-\r\n--\r\n\r\n" + bytes(range(256)) + b"\r\n"
    body, ctype = encode_multipart(files={"f": ("x.bin", nasty)}, boundary="b0undaryX")
    fields, files = parse_multipart(body, ctype)
    parsed.append(files)
    assert files["f"][0].read() == nasty
    with pytest.raises(ValueError, match="occurs in the content"):
        encode_multipart(files={"f": nasty}, boundary=boundary)


def test_random_binary_content(parsed: list[dict[str, list[File]]]) -> None:
    rng = random.Random(7)
    blobs = [bytes(rng.randrange(256) for _ in range(n)) for n in (0, 1, 2, 500, 70_000)]
    _, files = roundtrip(parsed, files={"blob": [(f"{i}.bin", b) for i, b in enumerate(blobs)]})
    assert [f.read() for f in files["blob"]] == blobs
    assert [f.size for f in files["blob"]] == [len(b) for b in blobs]


def test_unicode_and_quoted_filenames(parsed: list[dict[str, list[File]]]) -> None:
    _, files = roundtrip(parsed, files={"f": [("résumé 履歴.pdf", b"1"), ('say "hi"; ok.txt', b"2")]})
    assert [f.filename for f in files["f"]] == ["résumé 履歴.pdf", 'say "hi"; ok.txt']


def test_large_file_spools_to_disk(parsed: list[dict[str, list[File]]]) -> None:
    big = b"0123456789abcdef" * (MEMORY_LIMIT // 16 + 1000)
    _, files = roundtrip(parsed, files={"big": ("big.bin", big), "small": ("s.bin", b"s")})
    [large], [small] = files["big"], files["small"]
    assert large.size == len(big) > MEMORY_LIMIT
    assert large.file._rolled  # type: ignore[attr-defined]  # on disk, not in memory
    assert not small.file._rolled  # type: ignore[attr-defined]
    assert large.read() == big


def test_quoted_boundary_with_space(parsed: list[dict[str, list[File]]]) -> None:
    body, ctype = encode_multipart(fields={"a": "1"}, boundary="with space")
    assert ctype == 'multipart/form-data; boundary="with space"'
    assert parse_multipart(body, ctype)[0] == {"a": ["1"]}


def test_empty_form() -> None:
    body, ctype = encode_multipart()
    assert parse_multipart(body, ctype) == ({}, {})


def test_browser_parts() -> None:
    """What browsers send: "no file chosen", full local paths, a part charset, RFC 8187 names."""
    body = raw_body(
        b'Content-Disposition: form-data; name="empty"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n',
        b'Content-Disposition: form-data; name="path"; filename="C:\\Users\\me\\notes.txt"\r\n\r\n1',
        b'Content-Disposition: form-data; name="unix"; filename="../../etc/passwd"\r\n\r\n2',
        b'Content-Disposition: form-data; name="ext"; filename="x"; filename*=UTF-8\'\'na%C3%AFve.txt\r\n\r\n3',
        b'Content-Disposition: form-data; name="latin"\r\nContent-Type: text/plain; charset=latin-1\r\n\r\ncaf\xe9',
        b'content-disposition: form-data; name="raw-utf8"; filename="\xc3\xa9t\xc3\xa9.txt"\r\n\r\n4',
        b'Content-Disposition: form-data; name="dots"; filename="a/.."\r\n\r\n5',
    )
    fields, files = parse_multipart(body, CT)
    assert fields == {"latin": ["café"]}
    assert "empty" not in files
    assert files["path"][0].filename == "notes.txt"
    assert files["unix"][0].filename == "passwd"
    assert files["ext"][0].filename == "naïve.txt"
    assert files["raw-utf8"][0].filename == "été.txt"
    assert files["dots"][0].filename is None
    assert files["path"][0].content_type == "application/octet-stream"
    close_all(files)


# -- urlencoded ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", {}),
        (b"a=1&a=2&b=3", {"a": ["1", "2"], "b": ["3"]}),
        (b"a=&b&=c", {"a": [""], "b": [""], "": ["c"]}),
        (b"a=1&&b=2&", {"a": ["1"], "b": ["2"]}),
        (b"q=hello+world&plus=%2B&eq=a%3Db", {"q": ["hello world"], "plus": ["+"], "eq": ["a=b"]}),
        (b"n%C3%A4me=%E2%9C%93&raw=\xc3\xa9", {"näme": ["✓"], "raw": ["é"]}),
        (b"x=%41%62", {"x": ["Ab"]}),
    ],
)
def test_parse_urlencoded(body: bytes, expected: dict[str, list[str]]) -> None:
    assert parse_urlencoded(body) == expected


def test_parse_urlencoded_other_charset() -> None:
    assert parse_urlencoded(b"name=caf%E9", charset="latin-1") == {"name": ["café"]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"a=%zz", "malformed percent-encoding '%zz' in form field 'a'"),
        (b"a=100%", "malformed percent-encoding '%' in form field 'a'"),
        (b"a=%4", "malformed percent-encoding '%4' in form field 'a'"),
        (b"b%g1=1", "malformed percent-encoding '%g1' in a form field name"),
        (b"a=%FF", "form field 'a' is not valid utf-8 text"),
    ],
)
def test_parse_urlencoded_errors(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_urlencoded(body)
    assert info.value.status == 400
    assert info.value.message == message


def test_parse_urlencoded_unknown_charset() -> None:
    with pytest.raises(BadRequest, match="unknown charset 'nope'"):
        parse_urlencoded(b"a=1", charset="nope")


# -- parse_options_header ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ("", {})),
        ("Application/JSON", ("application/json", {})),
        (
            'multipart/form-data; boundary="a b"; charset=utf-8',
            ("multipart/form-data", {"boundary": "a b", "charset": "utf-8"}),
        ),
        (
            'form-data; NAME="a;b=c"; filename="q\\"uote"',
            ("form-data", {"name": "a;b=c", "filename": 'q"uote'}),
        ),
        ("text/plain ;  charset = latin-1 ;flag", ("text/plain", {"charset": "latin-1", "flag": ""})),
        ("attachment; filename*=UTF-8''%E2%82%AC.txt; filename=e.txt", ("attachment", {"filename": "€.txt"})),
        ("attachment; filename*=bogus''%FF; filename=e.txt", ("attachment", {"filename": "e.txt"})),
    ],
)
def test_parse_options_header(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_options_header(value) == expected


# -- multipart errors ----------------------------------------------------------------------

PART = b'Content-Disposition: form-data; name="a"\r\n\r\n1'


def fail(body: bytes, ctype: str = CT, **limits: int) -> HttpError:
    with pytest.raises(HttpError) as info:
        parse_multipart(body, ctype, **limits)
    return info.value


@pytest.mark.parametrize(
    ("body", "ctype", "status", "message"),
    [
        (raw_body(PART), "multipart/form-data", 400, "no boundary"),
        (raw_body(PART), 'multipart/form-data; boundary=""', 400, "no boundary"),
        (raw_body(PART), "application/json; boundary=xyz", 415, "expected a multipart/form-data body"),
        (raw_body(PART), "", 415, "'no content type'"),
        (b"", CT, 400, "multipart body is empty"),
        (raw_body(PART, closed=False), CT, 400, "ends before the closing boundary"),
        (raw_body(PART)[:-9], CT, 400, "ends before the closing boundary"),
        (b"this is not multipart", CT, 400, "malformed multipart body"),
        (b"--xyz\r\nno colon here\r\n\r\n1\r\n--xyz--", CT, 400, "malformed multipart body"),
        (raw_body(b"Content-Type: text/plain\r\n\r\n1"), CT, 400, "part has no name"),
        (raw_body(b'Content-Disposition: form-data; filename="a"\r\n\r\n1'), CT, 400, "part has no name"),
        (raw_body(PART), "multipart/form-data; boundary=" + "x" * 300, 400, "malformed multipart body"),
    ],
)
def test_malformed(body: bytes, ctype: str, status: int, message: str) -> None:
    error = fail(body, ctype)
    assert error.status == status
    assert message in error.message


def test_bad_field_text() -> None:
    error = fail(raw_body(b'Content-Disposition: form-data; name="bio"\r\n\r\n\xff\xfe'))
    assert (error.status, error.message) == (400, "form field 'bio' is not valid utf-8 text")
    weird = b'Content-Disposition: form-data; name="bio"\r\nContent-Type: text/plain; charset=klingon\r\n\r\nx'
    assert fail(raw_body(weird)).message == "form field 'bio' has an unknown charset 'klingon'"


def test_too_many_parts() -> None:
    body, ctype = encode_multipart(fields={"a": ["1", "2", "3"]})
    assert parse_multipart(body, ctype, max_parts=3)[0] == {"a": ["1", "2", "3"]}
    error = fail(body, ctype, max_parts=2)
    assert isinstance(error, RequestEntityTooLarge)
    assert (error.status, error.message) == (413, "multipart body has more than 2 parts (the limit)")


def test_too_many_files() -> None:
    body, ctype = encode_multipart(fields={"x": "1"}, files={"f": [b"1", b"2", b"3"]})
    error = fail(body, ctype, max_files=2)
    assert (error.status, error.message) == (413, "multipart body has more than 2 files (the limit)")
    fields, files = parse_multipart(body, ctype, max_files=3)
    assert len(files["f"]) == 3
    close_all(files)


def test_file_too_large() -> None:
    big = b"x" * (MEMORY_LIMIT + 10)
    body, ctype = encode_multipart(files={"ok": b"12345", "avatar": ("me.png", big)})
    error = fail(body, ctype, max_file_size=MEMORY_LIMIT)
    assert (error.status, error.message) == (
        413,
        f"file 'avatar' is larger than the limit of {MEMORY_LIMIT} bytes",
    )
    # text fields are not files: only the body limit applies to them
    body, ctype = encode_multipart(fields={"text": "y" * 100}, files={"f": b"12345"})
    fields, files = parse_multipart(body, ctype, max_file_size=5)
    assert fields["text"] == ["y" * 100]
    close_all(files)


def test_no_parser_exception_leaks() -> None:
    """Every truncation and many corruptions of a valid body give an HttpError or a result."""
    body, ctype = encode_multipart(fields={"a": "1", "b": ["2", "3"]}, files={"f": ("f.txt", b"data\r\n")})
    rng = random.Random(1)
    candidates = [body[:n] for n in range(len(body))]
    for _ in range(300):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.choice(b'\r\n-"=;:ax\x00\xff')
        candidates.append(bytes(mutated))
    for candidate in candidates:
        try:
            _, files = parse_multipart(candidate, ctype)
        except HttpError as e:
            assert e.status == 400 and e.message
        else:
            close_all(files)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"boundary": ""}, "invalid multipart boundary"),
        ({"boundary": "x" * 71}, "invalid multipart boundary"),
        ({"boundary": "bad\nboundary"}, "invalid multipart boundary"),
        ({"fields": {"a\r\nb": "1"}}, "cannot contain a line break"),
        ({"files": {"f": ("a\nb.txt", b"1")}}, "cannot contain a line break"),
    ],
)
def test_encode_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_multipart(**kwargs)  # type: ignore[arg-type]


def test_unsupported_media_type_is_415() -> None:
    assert UnsupportedMediaType.status == 415


# -- File ----------------------------------------------------------------------------------


def test_file_reading() -> None:
    with File(b"hello world", filename="Greeting.TXT", content_type="text/plain", name="g") as f:
        assert (f.size, f.tell(), f.suffix, f.is_image) == (11, 0, "txt", False)
        assert f.read(5) == b"hello"
        assert f.tell() == 5
        assert f.seek(-5, io.SEEK_END) == 6
        assert f.read() == b"world"
        assert f.seek(0) == 0
        assert f.file.read() == b"hello world"
        assert repr(f) == "<File filename='Greeting.TXT' content_type='text/plain' size=11>"
    assert f.closed


def test_file_defaults_and_file_object() -> None:
    source = io.BytesIO(b"abc")
    source.seek(2)
    f = File(source)
    assert (f.filename, f.name, f.content_type, f.size, f.headers, f.suffix) == (
        None,
        None,
        "application/octet-stream",
        3,
        {},
        "",
    )
    assert f.read() == b"abc"
    assert f.file is source


def test_file_save(tmp_path: Path) -> None:
    f = File(b"line1\r\nline2\x00\xff")
    f.read(3)
    target = f.save(tmp_path / "out.bin")
    assert target.read_bytes() == b"line1\r\nline2\x00\xff"
    assert f.tell() == 3  # saving does not move the reader
    assert f.save(str(target)) == target  # a str path works and overwrites
    f.close()


async def test_file_async(tmp_path: Path) -> None:
    big = b"z" * (MEMORY_LIMIT + 1)
    body, ctype = encode_multipart(files={"f": ("z.bin", big)})
    _, files = parse_multipart(body, ctype)
    with files["f"][0] as f:
        assert await f.aread(3) == b"zzz"
        target = await f.asave(tmp_path / "z.bin")
        assert target.read_bytes() == big
        assert await f.aread() == big[3:]


def test_empty_name_is_a_field_name() -> None:
    fields, files = parse_multipart(raw_body(b'Content-Disposition: form-data; name=""\r\n\r\n1'), CT)
    assert fields == {"": ["1"]} and files == {}


@pytest.mark.parametrize("content", [b"", b"x\r\n", b"abc\r\n\r\n", b"\r\n--xy"])
def test_parts_without_a_body_and_bodies_that_look_like_one(content: bytes) -> None:
    # RFC 2046: a part may end right after its headers (werkzeug's test client sends '' so);
    # the part after it must not be read as its body, and real bodies are kept byte for byte.
    bare = b'--xyz\r\nContent-Disposition: form-data; name="empty"\r\n\r\n'
    full = b'--xyz\r\nContent-Disposition: form-data; name="text"\r\n\r\n' + content + b"\r\n"
    body = b"\r\n" + bare + full + bare + b"--xyz--\r\n"
    fields, _ = parse_multipart(body, CT)
    assert fields == {"empty": ["", ""], "text": [content.decode()]}
