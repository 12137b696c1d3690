"""One request = one transaction: commit after the handler returns, before a byte is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from careline.errors import AuditUnavailable

log = logging.getLogger("careline.web")


def _finish(db: Any, ok: bool) -> None:
    try:
        if ok:
            db.commit()
        else:
            db.rollback()
    finally:
        db.close()


class UnitOfWorkRoute(APIRoute):
    """Commits the request's session once the response is built; a failed commit withholds the response.

    The audit rows of a read are written by that commit, so PHI never leaves unless its audit row
    was saved (fail closed).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException:
                db = getattr(request.state, "db", None)
                if db is not None:
                    request.state.db = None
                    await run_in_threadpool(_finish, db, False)
                raise
            db = getattr(request.state, "db", None)
            if db is not None:
                request.state.db = None
                try:
                    await run_in_threadpool(_finish, db, True)
                except Exception as exc:
                    log.exception("commit failed; response withheld")
                    message = "the request could not be saved or audited, so nothing was changed or shown"
                    raise AuditUnavailable(message + "; try again") from exc
            return response

        return run


def router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes run as one unit of work each."""
    return APIRouter(route_class=UnitOfWorkRoute, **kwargs)
