"""A small forum, with the error handling of UtilMeta's realworld tutorial: one hook for every
error that gets an ``Error``, answers 422 for bad input with the problems as ``errors`` (tornado)."""

import os

from utilmeta import UtilMeta
from utilmeta.core import api, request, response
from utilmeta.utils import Error, exceptions

POSTS = {1: {"title": "hello", "votes": 0}}


class ErrorResponse(response.Response):
    message_key = "msg"
    result_key = "errors"


class PostAPI(api.API):
    @api.get("{id}")
    async def get(self, id: int) -> dict:
        post = POSTS.get(id)
        if post is None:
            raise exceptions.NotFound(f"post {id} not found")
        return post

    @api.post("{id}/vote")
    async def vote(self, id: int, weight: int = request.QueryParam(ge=1, le=5)) -> dict:
        post = await self.get(id)
        post["votes"] += weight
        return post


class RootAPI(api.API):
    post: PostAPI

    @api.handle("*", Exception)
    def handle_errors(self, e: Error) -> ErrorResponse:
        detail = None
        exception = e.exception
        if isinstance(exception, exceptions.BadRequest):
            status = 422
            detail = exception.detail
        else:
            status = e.status
        return ErrorResponse(detail, error=e, status=status)


service = UtilMeta(
    __name__,
    name="forum",
    backend="tornado",
    api=RootAPI,
    route="/api",
    port=int(os.environ["SERVICE_PORT"]),
    production=True,
)
app = service.application()

if __name__ == "__main__":
    service.run()
