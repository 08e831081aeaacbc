"""Uploaded files: ``from utilmeta.core.file import File`` (or ``Image``, ``Audio``, ``Video``,
which accept only that kind of content)."""

from utilmeta.core.file._file import MEMORY_LIMIT, Audio, File, Image, Video

__all__ = ["File", "Image", "Audio", "Video", "MEMORY_LIMIT"]
