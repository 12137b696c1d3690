"""One request = one transaction: commit after the handler returns, before a byte is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

from careline.db import end_unwritten
from careline.errors import AuditUnavailable

log = logging.getLogger("careline.web")


def _finish(db: Any, ok: bool) -> None:
    try:
        if ok:
            db.commit()
        else:
            end_unwritten(db)  # a refusal that only read: keep the connection's prepared statements
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
                return await self._run(handler, request)
            finally:
                release(request)

        return run

    @staticmethod
    async def _run(handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request) -> Response:
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


def release(request: Request) -> None:
    """Give back the database permit `web.context.admit` took for this request, if it took one."""
    if getattr(request.state, "db_permit", False):
        request.state.db_permit = False
        request.app.state.db_permits.release()


class PrefilteredRouter(APIRouter):
    """An APIRouter that says "no match" at once for a path none of its routes can match.

    The app includes some thirty routers and asks each in turn whether it matches a request, and
    each asks every one of its routes (a regex and scope bookkeeping per route): about 0.6 ms of
    CPU per request before the handler runs. A route's path can only match a request path that
    starts with the route's literal part (everything before its first `{param}`), so one
    `str.startswith` over those prefixes rules a router out; the routes themselves still decide.
    """

    _literal_prefixes: tuple[int, tuple[str, ...] | None] = (-1, None)

    def _prefixes(self) -> tuple[str, ...] | None:
        count, prefixes = self._literal_prefixes
        if count != len(self.routes):  # routes were added since (tests, late includes)
            paths = [getattr(route, "path", None) for route in self.routes]
            if all(isinstance(path, str) for path in paths):
                prefixes = tuple(str(path).split("{", 1)[0] for path in paths)
            else:
                prefixes = None  # a mount or something without a plain path: no shortcut
            self._literal_prefixes = (len(self.routes), prefixes)
        return prefixes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        prefixes = self._prefixes()
        if (
            prefixes is not None
            and scope["type"] == "http"
            and not get_route_path(scope).startswith(prefixes)
        ):
            return Match.NONE, {}
        return super().matches(scope)


def router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes run as one unit of work each."""
    return PrefilteredRouter(route_class=UnitOfWorkRoute, **kwargs)
