"""A response body sent as it is produced: :class:`Stream`, set as ``response.stream``.

Its source is an iterator or an async iterator of items; ``encode`` turns each into bytes. An
adaptor sends :meth:`Stream.chunks` (a synchronous server) or :meth:`Stream.achunks` (an
asynchronous one) and closes what it iterates when the client goes; closing closes the source
(``GeneratorExit`` at its ``yield``, so its ``finally`` runs). A sync source under an
asynchronous server advances in a worker thread, one item at a time, never on the event loop;
an async source under a synchronous server runs on an event loop of its own.

With ``length`` the size is known (a file) and announced as ``Content-Length``; otherwise the
answer goes chunked. An exception in the source ends the body with ``on_error(exc)``'s bytes
(or just ends it, when there is no ``on_error``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

__all__ = ["Stream", "FileChunks"]

_END = object()
_pool: Any = None


def _executor() -> Any:
    """The threads sync sources advance in under an asynchronous service: its own pool, so that
    long streams never starve the endpoints' pool."""
    global _pool
    if _pool is None or _pool[1] != os.getpid():  # a pool inherited through fork() has no threads
        from concurrent.futures import ThreadPoolExecutor

        _pool = (ThreadPoolExecutor(max_workers=64, thread_name_prefix="utilmeta-stream"), os.getpid())
    return _pool[0]


def _as_bytes(item: Any) -> bytes:
    return bytes(item)


class Stream:
    __slots__ = ("source", "encode", "on_error", "length")

    def __init__(
        self,
        source: Iterator[Any] | AsyncIterator[Any],
        *,
        encode: Callable[[Any], bytes] = _as_bytes,
        on_error: Callable[[BaseException], bytes] | None = None,
        length: int | None = None,
    ):
        self.source = source
        self.encode = encode
        self.on_error = on_error
        self.length = length

    @property
    def is_async(self) -> bool:
        return hasattr(self.source, "__anext__")

    def _failed(self, error: Exception) -> Iterator[bytes]:
        if self.on_error is None:
            raise error
        yield self.on_error(error)

    def chunks(self) -> Generator[bytes, None, None]:
        """The encoded items, for a synchronous server; closing this iterator closes the source."""
        if self.is_async:
            yield from self._drive_async()
            return
        source = self.source
        encode = self.encode
        try:
            for item in source:  # type: ignore[union-attr]
                yield encode(item)
        except Exception as e:
            yield from self._failed(e)
        finally:
            self.close()

    def _drive_async(self) -> Iterator[bytes]:
        import asyncio

        source: Any = self.source
        loop = asyncio.new_event_loop()
        try:
            while True:
                try:
                    item = loop.run_until_complete(source.__anext__())
                except StopAsyncIteration:
                    break
                except Exception as e:
                    yield from self._failed(e)
                    break
                yield self.encode(item)
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                loop.run_until_complete(aclose())
            loop.close()

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        """The encoded items, for an asynchronous server. Closing this iterator (or cancelling
        its consumer) closes the source."""
        source: Any = self.source
        encode = self.encode
        if self.is_async:
            try:
                async for item in source:
                    yield encode(item)
            except Exception as e:
                for chunk in self._failed(e):
                    yield chunk
            finally:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
            return
        import asyncio
        import contextvars

        pending = None
        try:
            while True:
                pending = _executor().submit(contextvars.copy_context().run, next, source, _END)
                item = await asyncio.wrap_future(pending)
                if item is _END:
                    break
                yield encode(item)
        except Exception as e:
            for chunk in self._failed(e):
                yield chunk
        finally:
            if pending is None or pending.done():
                self.close()
            else:  # the source is running in its thread: close it once it yields
                pending.add_done_callback(lambda _: self.close())

    def close(self) -> None:
        """Close a sync source (an async one that never started holds nothing to finalise)."""
        if not self.is_async:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()


class FileChunks:
    """A file's content in blocks, as a stream's source; closing it closes the file if it was
    opened for the response (``owned``), started or not."""

    __slots__ = ("file", "owned", "size")

    def __init__(self, file: Any, *, owned: bool, size: int = 64 * 1024):
        self.file = file
        self.owned = owned
        self.size = size

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        block: bytes = self.file.read(self.size)
        if not block:
            self.close()
            raise StopIteration
        return block

    def close(self) -> None:
        if self.owned:
            self.file.close()
