"""Uploaded files: ``from utilmeta.core.file import File`` (or ``Image``, ``Audio``, ``Video``,
which accept only that kind of content).

utype schemas may declare file fields (``avatar: file.Image = utype.Field(max_length=...)``).
utype must know how to fill them before such a schema class is created, whichever of
``utilmeta.core.file`` and ``utype`` is imported first: here if utype is loaded already, else
right after it is (a one-shot import hook; utype is never imported on our own initiative).
"""

from utilmeta.core.file._file import MEMORY_LIMIT, Audio, File, Image, Video, register_when_utype_loads

register_when_utype_loads()

__all__ = ["File", "Image", "Audio", "Video", "MEMORY_LIMIT"]
