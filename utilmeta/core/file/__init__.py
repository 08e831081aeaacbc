"""Uploaded files: ``from utilmeta.core.file import File``."""

from utilmeta.core.file._file import MEMORY_LIMIT, File

__all__ = ["File", "MEMORY_LIMIT"]
