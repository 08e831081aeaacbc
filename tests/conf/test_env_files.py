"""Env sources: every file format, file errors, and the seed's samples run as written."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from optional import optional_import

from utilmeta.conf import Env, EnvError, EnvWarning

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"DEMO_REDIS_PASSWORD": "redis-pw", "DEMO_DB_USER": "alice", "DEMO_DB_PASSWORD": "db-pw"}


class Settings(Env):
    NAME: str = "demo"
    PORT: int = 8000
    DEBUG: bool = False


class Listed(Env):
    IDS: list[int] = []


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- files --------------------------------------------------------------------------------


def test_json_file(tmp_path: Path) -> None:
    path = write(tmp_path, "config.json", json.dumps({"PORT": 81, "debug": True, "ids": [1, 2]}))
    assert Settings(file=path).to_dict() == {"NAME": "demo", "PORT": 81, "DEBUG": True}
    assert Listed(file=str(path)).IDS == [1, 2]


def test_yaml_file(tmp_path: Path) -> None:
    optional_import("yaml", "pip install 'utilmeta[yaml]'")
    path = write(tmp_path, "config.yaml", "PORT: 82\nname: yaml-svc\nIDS:\n  - 1\n  - 2\n")
    assert Settings(file=path).to_dict() == {"NAME": "yaml-svc", "PORT": 82, "DEBUG": False}
    assert Listed(file=tmp_path / "config.yaml").IDS == [1, 2]
    empty = write(tmp_path, "empty.yml", "# nothing\n")
    assert Settings(file=empty).PORT == 8000


def test_yaml_without_pyyaml_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes "import yaml" fail
    path = write(tmp_path, "config.yml", "PORT: 1\n")
    with pytest.raises(ImportError, match=r"pip install 'utilmeta\[yaml\]'"):
        Settings(file=path)


def test_ini_env_section_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "config.ini",
        """
        [other]
        PORT = 1
        [env]
        PORT = 83
        Name = a=b%c
        """,
    )
    assert Settings(file=path).to_dict() == {"NAME": "a=b%c", "PORT": 83, "DEBUG": False}


def test_ini_sections_are_merged_without_env_section(tmp_path: Path) -> None:
    path = write(tmp_path, "config.cfg", "[DEFAULT]\nDEBUG = on\n[a]\nPORT = 1\nNAME = a\n[b]\nPORT = 2\n")
    assert Settings(file=path).to_dict() == {"NAME": "a", "PORT": 2, "DEBUG": True}


def test_ini_without_section_header(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.ini", "PORT = 84\n")
    assert Settings(file=path).PORT == 84


def test_ini_parse_error_names_the_line_not_the_text(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.ini", "[env]\nPORT = 1\nsecret-stuff-without-equals\n")
    with pytest.raises(EnvError, match="line") as info:
        Settings(file=path)
    assert str(path) in str(info.value) and "secret-stuff" not in str(info.value)


def test_dotenv_file(tmp_path: Path) -> None:
    class Dotenv(Env):
        A: str = ""
        B: str = ""
        C: str = ""
        D: str = ""
        E: str = ""
        F: str = ""
        G: str = ""
        H: str = ""

    path = write(
        tmp_path,
        ".env",
        r"""
        # a comment
        A=postgres://u:p@h/db?sslmode=require&x=1
        export B = plain value   # trailing comment
        C="double # kept = too\n"
        D='single \n raw'
        E=pass#word
        F=
        G = "" # empty
        export	H=tab
        """,
    )
    env = Dotenv(file=path)
    assert env.to_dict() == {
        "A": "postgres://u:p@h/db?sslmode=require&x=1",
        "B": "plain value",
        "C": "double # kept = too\n",
        "D": "single \\n raw",
        "E": "pass#word",
        "F": "",
        "G": "",
        "H": "tab",
    }


def test_seed_key_value_lines(tmp_path: Path) -> None:
    class Db(Env):
        DB_USER: str
        DB_PASSWORD: str

    path = write(tmp_path, "config.txt", "DB_USER=my_user\nDB_PASSWORD=my_password\n")
    assert Db(file=path).to_dict() == {"DB_USER": "my_user", "DB_PASSWORD": "my_password"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("PORT=1\nthis line is wrong\n", "line 2: expected KEY=VALUE"),
        ('PORT="unterminated\n', "line 1: unterminated quoted value"),
        ('PORT="1" junk\n', "line 1: unexpected text after the closing quote"),
        ("=nokey\n", "line 1: expected KEY=VALUE"),
    ],
)
def test_dotenv_errors(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, "bad.env", text)
    with pytest.raises(EnvError, match=problem) as info:
        Settings(file=path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("bad.json", '{"PORT": ', "invalid JSON at line 1"),
        ("list.json", "[1, 2]", "expected a mapping"),
        ("bad.yaml", "PORT: [1,\n", "invalid YAML at line"),
        ("list.yaml", "- 1\n", "expected a mapping"),
    ],
)
def test_structured_file_errors(tmp_path: Path, name: str, text: str, problem: str) -> None:
    if name.endswith(".yaml"):
        optional_import("yaml", "pip install 'utilmeta[yaml]'")
    path = write(tmp_path, name, text)
    with pytest.raises(EnvError, match=problem) as info:
        Settings(file=path)
    assert str(path) in str(info.value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "config.json"
    with pytest.raises(FileNotFoundError, match="env file not found") as info:
        Settings(file=path)
    assert str(path) in str(info.value)


# -- the seed's samples, verbatim ---------------------------------------------------------

SEED_SAMPLE = """\
from utilmeta.conf import Env

class ServiceEnvironment(Env):
    PRODUCTION: bool = False
    DJANGO_SECRET_KEY: str = ''
    COOKIE_AGE: int = 7 * 24 * 3600

    # cache -----
    REDIS_DB: int = 0
    REDIS_PORT: int = 6379
    REDIS_PASSWORD: str

    # databases ---------
    DB_HOST: str = ''
    DB_USER: str  
    DB_PASSWORD: str
    DB_PORT: int = 5432

env = ServiceEnvironment(sys_env='DEMO_')
"""  # noqa: W291 - the seed has a trailing space after "DB_USER: str"


def run_script(tmp_path: Path, code: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "sample.py"
    script.write_text(code, encoding="utf-8")
    # a fresh process with its own environment: the test never touches os.environ
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("DEMO_")}
    environ.update(extra_env, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, str(script)], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_seed_env_sample_reads_the_process_environment(tmp_path: Path) -> None:
    code = SEED_SAMPLE + "import json\nprint(json.dumps(env.to_dict()))\nprint(repr(env))\n"
    result = run_script(tmp_path, code, {**REQUIRED, "DEMO_PRODUCTION": "true", "DEMO_REDIS_PORT": "6390"})
    assert result.returncode == 0, result.stderr
    values_line, repr_line = result.stdout.splitlines()
    values = json.loads(values_line)
    assert values["PRODUCTION"] is True
    assert values["REDIS_PORT"] == 6390
    assert values["COOKIE_AGE"] == 604800
    assert values["DB_USER"] == "alice" and values["DB_PASSWORD"] == "db-pw"
    assert "db-pw" not in repr_line and "DB_PASSWORD='******'" in repr_line


def test_seed_env_sample_reports_missing_variables(tmp_path: Path) -> None:
    result = run_script(tmp_path, SEED_SAMPLE, {"DEMO_REDIS_PORT": "abc"})
    assert result.returncode != 0
    for problem in (
        "DEMO_REDIS_PORT: expected int, got 'abc'",
        "DEMO_REDIS_PASSWORD: required, not set",
        "DEMO_DB_USER: required, not set",
        "DEMO_DB_PASSWORD: required, not set",
    ):
        assert problem in result.stderr


def test_seed_file_sample(tmp_path: Path) -> None:
    config = write(tmp_path, "config.json", '{\n    "DB_USER": "my_user",\n    "DB_PASSWORD": "my_password"\n}')
    code = (
        "from utilmeta.conf import Env\n\n"
        "class ServiceEnvironment(Env):\n    pass\n\n"
        f"env = ServiceEnvironment(file={str(config)!r})\n"
        "print(env.to_dict())\n"
    )
    result = run_script(tmp_path, code, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{}"


# -- a .env file holds environment variables (issue 13, item 5) ------------------------------------


def test_a_dotenv_file_with_a_prefix_is_read_like_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, ".env", "APP_PORT=81\napp_name=from-file\nTZ=UTC\n")
    env = Settings(file=path, sys_env="APP_", environ={"APP_NAME": "from-env"})
    assert env.to_dict() == {"NAME": "from-env", "PORT": 81, "DEBUG": False}
    assert env.env_name("port") == "APP_PORT"


def test_a_declared_name_without_the_prefix_in_a_dotenv_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "prod.env", "PORT=81\nDEBUG=yes\n")
    with pytest.raises(EnvError) as info:
        Settings(file=path, sys_env="APP_", environ={})
    where = f"file {str(path)!r}"
    assert info.value.problems == [
        f"PORT (in {where}): a .env file holds environment variables, read with the prefix 'APP_': write APP_PORT",
        f"DEBUG (in {where}): a .env file holds environment variables, read with the prefix 'APP_': write APP_DEBUG",
    ]


def test_json_and_ini_files_keep_names_without_the_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, "config.json", '{"PORT": 81}')
    assert Settings(file=path, sys_env="APP_", environ={}).PORT == 81
    path = write(tmp_path, "config.ini", "[env]\nPORT = 82\n")
    assert Settings(file=path, sys_env="APP_", environ={}).PORT == 82


@pytest.mark.parametrize(
    ("text", "environ", "warning"),
    [
        ("", {"APP_PROT": "1"}, "APP_PROT (in the environment) is not a variable of Settings: did you mean APP_PORT?"),
        ("", {"app_nmae": "x"}, "app_nmae (in the environment) is not a variable of Settings: did you mean APP_NAME?"),
        ("", {"APP_COLOUR": "red"}, "APP_COLOUR (in the environment) is not a variable of Settings: it is ignored"),
        ("APP_DEBGU=1\n", {}, "APP_DEBGU (in file {file}) is not a variable of Settings: did you mean APP_DEBUG?"),
        ("PROT=1\n", {}, "PROT (in file {file}) is not a variable of Settings: did you mean APP_PORT?"),
    ],
)
def test_unknown_variables_warn_with_the_closest_name(
    text: str, environ: dict[str, str], warning: str, tmp_path: Path
) -> None:
    path = write(tmp_path, ".env", text)
    with pytest.warns(EnvWarning) as caught:
        env = Settings(file=path, sys_env="APP_", environ=environ)
    assert env.PORT == 8000  # ignored, not a failure
    assert [str(w.message) for w in caught] == [warning.format(file=repr(str(path)))]


def test_what_is_not_a_mistake_does_not_warn(tmp_path: Path) -> None:
    """Other programs' variables (in the environment, or unprefixed in ``.env``) are theirs."""
    path = write(tmp_path, ".env", "TZ=UTC\nAPP_PORT=1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Settings(file=path, sys_env="APP_", environ={"HOME": "/root", "PORTS": "1", "APP_DEBUG": "1"})
        Settings(sys_env=True, environ={"PROT": "1", "HOME": "/root"})
        Settings(file=write(tmp_path, "c.json", '{"PROT": 1}'))


def test_a_dotenv_file_without_a_prefix_warns_about_every_unknown_name(tmp_path: Path) -> None:
    path = write(tmp_path, "settings.env", "PORT=1\nCOLOUR=red\n")
    with pytest.warns(EnvWarning, match=r"^COLOUR \(in file .*\) is not a variable of Settings: it is ignored$"):
        assert Settings(file=path).PORT == 1
