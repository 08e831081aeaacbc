"""Env: sources, case-insensitive access, conversion, errors, masking and precedence."""

import datetime
import decimal
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import msgspec
import pytest

from utilmeta.conf import Env, EnvError, EnvWarning
from utilmeta.conf.env import is_secret


class ServiceEnvironment(Env):
    PRODUCTION: bool = False
    DJANGO_SECRET_KEY: str = ""
    COOKIE_AGE: int = 7 * 24 * 3600

    REDIS_DB: int = 0
    REDIS_PORT: int = 6379
    REDIS_PASSWORD: str

    DB_HOST: str = ""
    DB_USER: str
    DB_PASSWORD: str
    DB_PORT: int = 5432


REQUIRED = {"DEMO_REDIS_PASSWORD": "redis-pw", "DEMO_DB_USER": "alice", "DEMO_DB_PASSWORD": "db-pw"}


class Settings(Env):
    NAME: str = "demo"
    PORT: int = 8000
    DEBUG: bool = False


class Point(msgspec.Struct):
    x: int
    y: int


class Typed(Env):
    FLAG: bool = False
    COUNT: int = 0
    RATIO: float = 0.0
    PRICE: decimal.Decimal = decimal.Decimal("0")
    IDS: list[int] = []
    TAGS: tuple[str, ...] = ()
    UNIQUE: set[int] = set()
    LIMITS: dict[str, int] = {}
    POINT: Optional[Point] = None
    MAYBE: Optional[int] = 1
    MODE: Literal["dev", "prod"] = "dev"
    SINCE: Optional[datetime.date] = None
    WORKERS: Annotated[int, msgspec.Meta(ge=1)] = 1
    ANYTHING: Any = None


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- sources ------------------------------------------------------------------------------


def test_prefix_is_case_insensitive() -> None:
    env = ServiceEnvironment(
        sys_env="demo_",
        environ={**REQUIRED, "Demo_Redis_Port": "6380", "demo_production": "true", "REDIS_DB": "9"},
    )
    assert env.REDIS_PORT == 6380
    assert env.PRODUCTION is True
    assert env.REDIS_DB == 0  # not prefixed: ignored
    assert env.DB_USER == "alice"


def test_sys_env_true_reads_unprefixed_names() -> None:
    env = Settings(sys_env=True, environ={"name": "svc", "PORT": "9000", "OTHER": "x"})
    assert (env.NAME, env.PORT, env.DEBUG) == ("svc", 9000, False)


def test_environ_alone_implies_sys_env_true() -> None:
    assert Settings(environ={"PORT": "1"}).PORT == 1


def test_sys_env_false_ignores_environ() -> None:
    assert Settings(sys_env=False, environ={"PORT": "1"}).PORT == 8000


def test_no_source_gives_defaults() -> None:
    env = Settings()
    assert env.to_dict() == {"NAME": "demo", "PORT": 8000, "DEBUG": False}


def test_conventional_spelling_wins_over_other_case() -> None:
    env = Settings(sys_env="APP_", environ={"app_port": "1", "APP_PORT": "2"})
    assert env.PORT == 2


def test_bad_sys_env_type() -> None:
    with pytest.raises(TypeError, match="sys_env"):
        Settings(sys_env=3)  # type: ignore[arg-type]


def test_data_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        Settings(["PORT"])  # type: ignore[arg-type]


# -- access -------------------------------------------------------------------------------


def test_attribute_access_is_case_insensitive() -> None:
    env = ServiceEnvironment(sys_env="DEMO_", environ=REQUIRED)
    assert env.DB_PASSWORD == "db-pw"
    assert env.db_password == "db-pw"
    assert env.Db_Port == 5432
    with pytest.raises(AttributeError, match="NOPE"):
        env.NOPE  # noqa: B018
    with pytest.raises(
        AttributeError, match=r"^'ServiceEnvironment' has no variable 'DB_PROT': did you mean DB_PORT\?$"
    ):
        env.DB_PROT  # noqa: B018


def test_env_is_read_only() -> None:
    env = Settings()
    with pytest.raises(AttributeError, match="read-only"):
        env.PORT = 1
    with pytest.raises(AttributeError, match="read-only"):
        del env.PORT


def test_mutable_defaults_are_not_shared() -> None:
    first, second = Typed(), Typed()
    first.IDS.append(1)
    assert second.IDS == [] and Typed.IDS == []


def test_names_differing_only_in_case_are_rejected() -> None:
    class Clash(Env):
        PORT: int = 1
        port: int = 2

    with pytest.raises(TypeError, match="differ only in case"):
        Clash()


def test_private_and_classvar_attributes_are_not_variables() -> None:
    from typing import ClassVar

    class WithExtras(Env):
        PORT: int = 1
        _cache: dict[str, str] = {}
        KIND: ClassVar[str] = "x"

    assert WithExtras(data={"KIND": "y", "_cache": "z"}).to_dict() == {"PORT": 1}


def test_subclass_inherits_variables() -> None:
    class More(Settings):
        EXTRA: int = 3

    assert More(data={"port": "5"}).to_dict() == {"NAME": "demo", "PORT": 5, "DEBUG": False, "EXTRA": 3}


# -- conversion ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("False", False), ("1", True), ("0", False), ("YES", True), ("no", False)]
    + [("On", True), ("off", False), (" true ", True)],
)
def test_bool_words(text: str, expected: bool) -> None:
    assert Typed(environ={"FLAG": text}).FLAG is expected


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("COUNT", "42", 42),
        ("RATIO", "0.25", 0.25),
        ("PRICE", "9.99", decimal.Decimal("9.99")),
        ("IDS", "[1, 2, 3]", [1, 2, 3]),
        ("IDS", "1, 2,3", [1, 2, 3]),
        ("IDS", "", []),
        ("TAGS", "a,b", ("a", "b")),
        ("UNIQUE", "1,1,2", {1, 2}),
        ("LIMITS", '{"a": 1, "b": "2"}', {"a": 1, "b": 2}),
        ("POINT", '{"x": 1, "y": 2}', Point(1, 2)),
        ("POINT", "", None),
        ("MAYBE", "", None),
        ("MAYBE", "7", 7),
        ("MODE", "prod", "prod"),
        ("SINCE", "2024-02-29", datetime.date(2024, 2, 29)),
        ("WORKERS", "4", 4),
        ("ANYTHING", "raw", "raw"),
    ],
)
def test_conversion_from_text(name: str, raw: str, expected: object) -> None:
    assert getattr(Typed(environ={name: raw}), name) == expected


_LIST_OF_INTS = "list[int] (a JSON array like [1, 2] or comma-separated values like 1,2)"


@pytest.mark.parametrize(
    ("name", "raw", "expected_type"),
    [
        ("FLAG", "maybe", "bool (true/false, 1/0, yes/no or on/off)"),
        ("COUNT", "abc", "int"),
        ("RATIO", "x", "float"),
        ("IDS", "1,a", _LIST_OF_INTS),
        ("IDS", "[1,", _LIST_OF_INTS),
        ("LIMITS", "not json", 'dict[str, int] (a JSON object like {"name": "value"})'),
        ("MAYBE", "x", "int | None"),
        ("MODE", "test", "Literal['dev', 'prod']"),
        ("WORKERS", "0", "int"),
    ],
)
def test_bad_values_name_the_expected_type(name: str, raw: str, expected_type: str) -> None:
    """A list or dict that does not parse says how to write one (issue 13, item 5)."""
    with pytest.raises(EnvError) as info:
        Typed(sys_env="APP_", environ={f"APP_{name}": raw})
    assert info.value.problems == [f"APP_{name}: expected {expected_type}, got {raw!r} (from environment)"]


def test_typed_values_from_data() -> None:
    env = Typed({"flag": 1, "count": "3", "ids": ["4"], "point": {"x": 1, "y": 2}})
    assert (env.FLAG, env.COUNT, env.IDS, env.POINT) == (True, 3, [4], Point(1, 2))


def test_numbers_become_strings_for_str_variables() -> None:
    assert Settings({"NAME": 5432}).NAME == "5432"


# -- errors -------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(EnvError) as info:
        ServiceEnvironment(sys_env="DEMO_", environ={"DEMO_REDIS_PORT": "abc", "DEMO_DB_USER": "bob"})
    error = info.value
    assert isinstance(error, ValueError)
    assert error.problems == [
        "DEMO_REDIS_PORT: expected int, got 'abc' (from environment)",
        "DEMO_REDIS_PASSWORD: required, not set",
        "DEMO_DB_PASSWORD: required, not set",
    ]
    text = str(error)
    assert text.startswith("ServiceEnvironment: 3 problems with environment variables:")
    assert all(problem in text for problem in error.problems)


def test_missing_names_without_prefix_and_with_file(tmp_path: Path) -> None:
    path = write(tmp_path, "app.env", "NAME=x\n")

    class Needs(Env):
        TOKEN_URL: str

    with pytest.raises(EnvError) as info, pytest.warns(EnvWarning, match="NAME .* is not a variable of Needs"):
        Needs(file=path)
    assert info.value.problems == [f"TOKEN_URL: required, not set (looked in file {str(path)!r})"]
    with pytest.raises(EnvError) as info:
        Needs(file=path, sys_env="X_", environ={})
    assert info.value.problems == [f"X_TOKEN_URL: required, not set (also looked in file {str(path)!r})"]
    with pytest.raises(EnvError, match="no source given"):
        Needs()


def test_bad_value_from_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "config.json", '{"port": "eighty"}')
    with pytest.raises(EnvError) as info:
        Settings(file=path)
    assert info.value.problems == [f"port: expected int, got 'eighty' (from file {str(path)!r})"]


def test_long_values_are_shortened_in_errors() -> None:
    with pytest.raises(EnvError) as info:
        Settings(environ={"PORT": "9" * 30 + "x" * 100})
    assert "..." in info.value.problems[0] and "x" * 100 not in str(info.value)


# -- secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["DJANGO_SECRET_KEY", "db_password", "SMTP_PASSWD", "GITHUB_TOKEN", "AWS_CREDENTIALS", "PRIVATE_PEM"],
)
def test_secret_names(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize("name", ["DB_USER", "PORT", "PRODUCTION"])
def test_plain_names(name: str) -> None:
    assert not is_secret(name)


def test_secrets_are_masked_in_repr_and_str() -> None:
    env = ServiceEnvironment(sys_env="DEMO_", environ={**REQUIRED, "DEMO_DJANGO_SECRET_KEY": "s3cr3t"})
    for text in (repr(env), str(env)):
        assert "s3cr3t" not in text and "redis-pw" not in text and "db-pw" not in text
        assert "DJANGO_SECRET_KEY='******'" in text and "DB_PASSWORD='******'" in text
        assert "DB_USER='alice'" in text and "REDIS_PORT=6379" in text
    assert env.to_dict()["DJANGO_SECRET_KEY"] == "s3cr3t"
    assert env.to_dict()["DB_PASSWORD"] == "db-pw"


def test_invalid_secret_is_never_echoed() -> None:
    class Secrets(Env):
        API_TOKEN: int = 0

    with pytest.raises(EnvError) as info:
        Secrets(sys_env="APP_", environ={"APP_API_TOKEN": "hunter2"})
    assert "hunter2" not in str(info.value)
    assert info.value.problems == [
        "APP_API_TOKEN: expected int, got an invalid value (not shown: secret) (from environment)"
    ]


# -- precedence ---------------------------------------------------------------------------


def test_precedence_data_then_file_then_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "config.json", '{"PORT": 2, "NAME": "file"}')
    env = Settings({"PORT": 1, "NAME": "data", "DEBUG": "yes"}, file=path, environ={"PORT": "3"})
    assert (env.PORT, env.NAME, env.DEBUG) == (3, "file", True)
