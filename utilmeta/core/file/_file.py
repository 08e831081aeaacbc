"""The uploaded-file type, independent of any web framework."""

from __future__ import annotations

import os
import sys
import weakref
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import tempfile
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from pathlib import Path
    from types import ModuleType

__all__ = ["File", "Image", "Audio", "Video", "MEMORY_LIMIT", "register_with_utype", "register_when_utype_loads"]

#: Uploads up to this many bytes stay in memory; larger ones roll over to a temporary file.
MEMORY_LIMIT = 1024 * 1024


def spool() -> tempfile.SpooledTemporaryFile[bytes]:
    """A fresh buffer for upload content (in memory until it passes ``MEMORY_LIMIT``)."""
    import tempfile  # with what it loads (random, shutil, ...), only once a file is uploaded

    return tempfile.SpooledTemporaryFile(max_size=MEMORY_LIMIT, mode="w+b")


class File:
    """An uploaded file: a ``multipart/form-data`` part that carried a filename.

    Declare a parameter as ``File`` (or ``list[File]``) to receive uploads. The content is
    read with :meth:`read` / :meth:`seek` / :meth:`tell` or through :attr:`file`, and written
    out with :meth:`save`. A ``File`` can also be built directly, for tests::

        File(b"hello", filename="a.txt", content_type="text/plain")

    ``content`` may be bytes (copied into a spooled buffer the ``File`` owns), an open binary
    file object (used as is; its size is measured by seeking to the end) or another ``File``
    (its content and names, shared). ``len(file)`` is its size in bytes.

    Subclasses that set :attr:`media` accept only that kind of content: a parameter declared as
    ``Image`` refuses a ``text/plain`` upload with a 400 naming the parameter.
    """

    #: the major media type this class accepts (``"image"``), None for any
    media: str | None = None
    filename: str | None
    content_type: str
    name: str | None

    def __init__(
        self,
        content: bytes | IO[bytes] | File = b"",
        *,
        filename: str | None = None,
        content_type: str | None = None,
        name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(content, File):  # ``Image(upload)``: the same content, seen as this class
            filename = filename or content.filename
            content_type = content_type or content.content_type
            name = name or content.name
            headers = headers or content.headers
            content = content._file
        self.filename = filename
        self.content_type = content_type or "application/octet-stream"
        self.name = name
        self.headers: dict[str, str] = dict(headers) if headers else {}
        if isinstance(content, (bytes, bytearray, memoryview)):
            buffer = spool()
            buffer.write(content)
            self._file: IO[bytes] = buffer
            self._own(buffer)
        else:
            self._file = content
        self.size: int = self._file.seek(0, os.SEEK_END)
        self._file.seek(0)
        self._check_media()

    def _check_media(self) -> None:
        media = self.media
        if media is not None and not self.content_type.lower().startswith(media + "/"):
            article = "an" if media[0] in "aeiou" else "a"
            raise ValueError(f"expected {article} {media}/* file, got {self.content_type!r}")

    @classmethod
    def accept(cls, upload: File) -> File:
        """``upload`` as this class, or ValueError if its content type is not one this class takes.

        The upload itself is re-classed (not copied): it keeps its buffer and the request still
        closes it after the response."""
        if isinstance(upload, cls):
            return upload
        original = type(upload)
        if not issubclass(cls, original):
            raise ValueError(f"expected {cls.__name__}, got {original.__name__}")
        upload.__class__ = cls
        try:
            upload._check_media()
        except ValueError:
            upload.__class__ = original
            raise
        return upload

    def _own(self, buffer: IO[bytes]) -> None:
        # A spool that rolled over holds an open temporary file; close it when the File is
        # dropped so a forgotten upload neither leaks a descriptor nor warns at exit.
        weakref.finalize(self, buffer.close)

    @classmethod
    def _from_spool(
        cls,
        buffer: IO[bytes],
        *,
        filename: str | None,
        content_type: str | None,
        name: str,
        headers: dict[str, str],
    ) -> File:
        """Wrap a buffer the multipart parser filled; the File takes ownership of it."""
        upload = cls(buffer, filename=filename, content_type=content_type, name=name, headers=headers)
        upload._own(buffer)
        return upload

    def __len__(self) -> int:
        """The size in bytes, so length constraints (``max_length``) bound a file's size."""
        return self.size

    def __bool__(self) -> bool:
        return True  # an empty upload is still an upload

    @property
    def file(self) -> BinaryIO:
        """The underlying binary file object (in memory, or a temporary file above 1 MiB)."""
        return self._file  # type: ignore[return-value]

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def suffix(self) -> str:
        """The lower-cased extension of the filename without the dot (``""`` if none)."""
        name = self.filename or ""
        return name.rsplit(".", 1)[-1].lower() if "." in name else ""

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_audio(self) -> bool:
        return self.content_type.startswith("audio/")

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole content to ``path`` (replacing it) and return the path.

        The read position is kept, so saving does not disturb a reader of the same File.
        """
        import shutil
        from pathlib import Path

        target = Path(path)
        position = self._file.tell()
        self._file.seek(0)
        try:
            with open(target, "wb") as out:
                shutil.copyfileobj(self._file, out)
        finally:
            self._file.seek(position)
        return target

    async def aread(self, size: int = -1) -> bytes:
        import asyncio  # loaded already on a running loop; not at import, for WSGI services

        # A rolled-over spool is a real file on disk: read it off the event loop.
        return await asyncio.to_thread(self.read, size)

    async def asave(self, path: str | os.PathLike[str]) -> Path:
        import asyncio

        return await asyncio.to_thread(self.save, path)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> File:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} filename={self.filename!r} content_type={self.content_type!r} size={self.size}>"


class Image(File):
    """An uploaded file whose content type is ``image/*``."""

    media = "image"


class Audio(File):
    """An uploaded file whose content type is ``audio/*``."""

    media = "audio"


class Video(File):
    """An uploaded file whose content type is ``video/*``."""

    media = "video"


_registered = False


def register_with_utype() -> None:
    """Teach utype to fill ``File`` fields of its schemas from uploads (once; utype must be installed)."""
    global _registered
    if _registered:
        return
    import utype

    def transform(transformer: object, data: object, cls: type[File]) -> File:
        if isinstance(data, list) and data:
            data = data[-1]
        if not isinstance(data, File):
            raise TypeError(f"expected an uploaded file, got {type(data).__name__}")
        return cls.accept(data)

    utype.register_transformer(File)(transform)
    _registered = True


class _AfterUtype:
    """Finds nothing itself: when ``utype`` is first imported, registers ``File`` with it as soon
    as the module has run, then steps out of the import system."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        if name != "utype":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            register_with_utype()

        loader.exec_module = exec_module
        return spec


def register_when_utype_loads() -> None:
    if "utype" in sys.modules:
        register_with_utype()
    elif not any(isinstance(f, _AfterUtype) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterUtype())
