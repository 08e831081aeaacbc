"""What ``docker build`` would see and copy, for the Dockerfiles ``meta deploy docker`` writes,
without Docker: the build context filtered by its ignore file, and the ``COPY`` instructions
replayed into a directory standing for the image's file system.

Docker is not installed where the tests run; this reads the same files Docker reads, the way
BuildKit reads them: ``-f DIR/Dockerfile`` takes ``DIR/Dockerfile.dockerignore`` before the
context's ``.dockerignore``; a pattern matches a path relative to the context (``*`` within a
segment, ``**`` across segments), and an ignored directory takes its contents with it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["Build", "Step", "parse_build_command", "replay"]


def _pattern(text: str) -> re.Pattern[str]:
    """An ignore-file pattern as a regular expression over a context-relative path."""
    text, regex, i = text.strip("/"), "", 0
    while i < len(text):
        if text.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif text.startswith("**", i):
            regex, i = regex + ".*", i + 2
        else:
            c = text[i]
            regex, i = regex + ("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)), i + 1
    return re.compile(regex + r"\Z")


def ignored(patterns: list[str], relative: PurePosixPath) -> bool:
    """Whether ``relative`` (or a directory holding it) matches a pattern of the ignore file."""
    compiled = [_pattern(p) for p in patterns]
    candidates = [relative, *relative.parents][:-1]  # the path and each of its folders, not '.'
    return any(c.match(str(path)) for c in compiled for path in candidates)


def ignore_patterns(context: Path, dockerfile: Path) -> list[str]:
    """The ignore file BuildKit uses for this Dockerfile: its own, else the context's."""
    for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            lines = [ln.strip() for ln in candidate.read_text().splitlines()]
            patterns = [ln for ln in lines if ln and not ln.startswith("#")]
            assert not any(p.startswith("!") for p in patterns), "exceptions are not replayed"
            return patterns
    return []


@dataclass(frozen=True)
class Build:
    """``docker build -f DOCKERFILE CONTEXT``, with paths resolved from where it is run."""

    dockerfile: Path
    context: Path


def parse_build_command(command: str, cwd: Path) -> Build:
    """The Dockerfile and context of a ``docker build`` command line run in ``cwd``."""
    args = shlex.split(command)
    assert args[:2] == ["docker", "build"], command
    dockerfile: str | None = None
    positional = []
    rest = iter(args[2:])
    for arg in rest:
        if arg in ("-f", "--file"):
            dockerfile = next(rest)
        elif arg in ("-t", "--tag"):
            next(rest)
        else:
            positional.append(arg)
    (context,) = positional
    context_dir = (cwd / context).resolve()
    return Build((cwd / dockerfile).resolve() if dockerfile else context_dir / "Dockerfile", context_dir)


@dataclass(frozen=True)
class Step:
    instruction: str
    argument: str


def instructions(text: str) -> list[Step]:
    """The Dockerfile's instructions, continuation lines joined."""
    steps: list[Step] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, argument = whole.partition(" ")
        steps.append(Step(name.upper(), argument.strip()))
    return steps


@dataclass
class Image:
    """The image's file system under ``root`` as the build left it, and what the steps said."""

    root: Path
    workdir: PurePosixPath = PurePosixPath("/")
    cmd: list[str] = field(default_factory=list)
    runs: list[tuple[PurePosixPath, str]] = field(default_factory=list)

    def path(self, inside: PurePosixPath | str) -> Path:
        """Where an absolute path of the image is in this directory."""
        return self.root / PurePosixPath(inside).relative_to("/")


def _copy(build: Build, patterns: list[str], source: str, destination: Path) -> None:
    origin = (build.context / source).resolve()
    assert origin.is_relative_to(build.context), f"COPY {source}: outside the build context"
    relative = PurePosixPath(origin.relative_to(build.context).as_posix())
    assert origin.exists(), f"COPY {source}: not in the build context {build.context}"
    if origin.is_file():
        assert not ignored(patterns, relative), f"COPY {source}: excluded by the ignore file"
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, destination)
        return
    for path in sorted(origin.rglob("*")):
        inner = PurePosixPath(path.relative_to(build.context).as_posix())
        if path.is_file() and not ignored(patterns, inner):
            target = destination / path.relative_to(origin)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def replay(build: Build, root: Path, *, on_run: object = None) -> Image:
    """Replay the file-system steps (WORKDIR, COPY) into ``root``; RUN lines are recorded with
    their working directory, and ``on_run(image, command)``, if given, is called at each."""
    patterns = ignore_patterns(build.context, build.dockerfile)
    image = Image(root)
    for step in instructions(build.dockerfile.read_text()):
        if step.instruction == "WORKDIR":
            image.workdir = image.workdir / step.argument
            image.path(image.workdir).mkdir(parents=True, exist_ok=True)
        elif step.instruction == "COPY":
            *sources, target = shlex.split(step.argument)
            assert not any(s.startswith("--") for s in sources), step
            inside = image.workdir / target
            # a file goes into a folder named with a trailing "/" or that exists (".": the workdir)
            into_dir = target.endswith("/") or len(sources) > 1 or image.path(inside).is_dir()
            for source in sources:
                is_file = (build.context / source).is_file()
                _copy(
                    build,
                    patterns,
                    source,
                    image.path(inside / PurePosixPath(source).name if into_dir and is_file else inside),
                )
        elif step.instruction == "RUN":
            image.runs.append((image.workdir, step.argument))
            if callable(on_run):
                on_run(image, step.argument)
        elif step.instruction == "CMD":
            image.cmd = json.loads(step.argument)
    return image
