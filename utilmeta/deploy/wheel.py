"""A wheel of the utilmeta build that is running, for the files that install it elsewhere.

The name ``utilmeta`` on the public package index belongs to another project, so a project's
``requirements.txt`` and Docker image install this build from a wheel written next to them
(``meta setup`` puts it in ``wheels/``, ``meta deploy docker`` beside the Dockerfile)::

    --find-links wheels
    utilmeta[flask]==0.1.0+3f9c2a7be1

The wheel is made offline with the standard library: the files of the imported ``utilmeta``
package (caches left out) and the metadata of its installed distribution (dependencies, extras,
the ``meta`` script). Its version is ``utilmeta.__version__`` plus a local label hashing those
files, so the same code always gives the same wheel, byte for byte, and a changed one a new
version that no index can hold (local versions are never published) and pip never takes for
an installed copy.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import utilmeta
from utilmeta.deploy.base import DeployError

__all__ = ["WHEEL_DIR", "Wheel", "current_wheel", "package_files"]

#: where ``meta setup`` puts the wheel in a new project (``--find-links`` in its requirements)
WHEEL_DIR = "wheels"
#: the distribution metadata fields carried over (those of Metadata-Version 2.1)
_FIELDS = ("Summary", "Requires-Python", "Classifier", "Provides-Extra", "Requires-Dist")
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Wheel:
    """A wheel file of utilmeta: its version, file name and bytes."""

    version: str
    data: bytes

    @property
    def filename(self) -> str:
        return f"utilmeta-{self.version}-py3-none-any.whl"

    def requirement(self, extra: str | None = None) -> str:
        """The pinned requirement only this wheel satisfies, with a backend's extra."""
        return f"utilmeta{f'[{extra}]' if extra else ''}=={self.version}"


def package_files() -> dict[str, bytes]:
    """The files of the imported ``utilmeta`` package by wheel path, without bytecode caches."""
    root = Path(utilmeta.__file__).resolve().parent
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            files["utilmeta/" + path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _distribution() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution("utilmeta")
    except importlib.metadata.PackageNotFoundError:
        raise DeployError(
            "utilmeta is not installed as a distribution here (no metadata to build a wheel from): "
            "install it with `pip install -e <checkout>`"
        ) from None


def _metadata(version: str, dist: importlib.metadata.Distribution) -> str:
    lines = ["Metadata-Version: 2.1", "Name: utilmeta", f"Version: {version}"]
    for field in _FIELDS:
        lines += [f"{field}: {value}" for value in dist.metadata.get_all(field) or []]
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


@functools.cache
def current_wheel() -> Wheel:
    """The wheel of the running utilmeta (built once per process: the code does not change)."""
    dist = _distribution()
    files = package_files()
    content = hashlib.sha256()
    for name, data in files.items():
        content.update(f"{name}\0{len(data)}\0".encode())
        content.update(data)
    version = f"{utilmeta.__version__}+{content.hexdigest()[:10]}"
    info = f"utilmeta-{version}.dist-info"
    files[f"{info}/METADATA"] = _metadata(version, dist).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: utilmeta.deploy.wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return Wheel(version, buffer.getvalue())
