"""The application factory: settings in, a FastAPI app out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from careline import __version__
from careline.config import Settings
from careline.db import make_engine, make_session_factory
from careline.kit import geo
from careline.matching import index as matching_index
from careline.web import errors
from careline.web.headers import SecurityHeaders

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def _routers() -> list:
    # Imported here so importing careline.app stays cheap and the layer order is obvious.
    from careline.accounts import api as accounts_api
    from careline.accounts import pages as accounts_pages
    from careline.audit import api as audit_api
    from careline.console import actions as console_actions
    from careline.console import pages as console_pages
    from careline.console import panels as console_panels
    from careline.console import wallboard
    from careline.contacts import api as contacts_api
    from careline.contacts import service as contacts_service
    from careline.directory import api as directory_api
    from careline.directory import pages as directory_pages
    from careline.escalations import api as escalations_api
    from careline.escalations import pages as escalations_pages
    from careline.matching import api as matching_api
    from careline.matching import pages as matching_pages
    from careline.matching import service as matching_service
    from careline.matching import settings_pages as matching_settings_pages
    from careline.patients import api as patients_api
    from careline.patients import pages as patients_pages
    from careline.queues import api as queues_api
    from careline.queues import pages as queues_pages
    from careline.reports import api as reports_api
    from careline.reports import pages as reports_pages
    from careline.scheduling import api as scheduling_api
    from careline.scheduling import pages as scheduling_pages
    from careline.surveys import api as surveys_api
    from careline.surveys import pages as surveys_pages
    from careline.tenants import api as tenants_api
    from careline.tenants import pages as tenants_pages
    from careline.web import home, live

    matching_service.connect_contacts(contacts_service)  # matching records referrals on contacts
    return [
        home.health,
        home.pages,
        accounts_pages.pages,
        accounts_api.api,
        tenants_api.api,
        tenants_pages.pages,
        audit_api.api,
        audit_api.pages,
        live.pages,
        directory_api.api,
        directory_pages.pages,
        matching_api.api,
        matching_pages.pages,
        matching_settings_pages.pages,
        patients_api.api,
        patients_pages.pages,
        contacts_api.api,
        console_pages.pages,
        console_panels.pages,
        console_actions.pages,
        wallboard.pages,
        escalations_api.api,
        escalations_pages.pages,
        queues_api.api,
        queues_pages.pages,
        surveys_api.api,
        surveys_pages.pages,
        scheduling_api.api,
        scheduling_pages.pages,
        reports_api.api,
        reports_pages.pages,
    ]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Each serving process also runs the job worker unless told not to; claims are safe across processes.
    settings: Settings = app.state.settings
    stop = None
    if settings.run_worker and settings.environment != "test":
        from careline.jobs.worker import start_thread

        stop = start_thread(app.state.sessions, interval=settings.event_poll_seconds)
    if settings.environment != "test":
        geo.warm()  # the ZIP table, in a thread: the first search of the day does not wait for it
    matching_index.INDEXES.preload(app.state.engine)  # each client's directory, in a thread (background mode)
    yield
    if stop is not None:
        stop.set()
    if getattr(app.state, "notifier", None) is not None:
        await app.state.notifier.close()  # the live events' LISTEN connection


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: engine and session factory on app.state, routers, error handlers, static files."""
    settings = settings or Settings()
    settings.check_production()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = FastAPI(
        title="CareLine",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    # Find-a-doctor holds each client's directory in memory (matching/index.py).
    matching_index.INDEXES.mode = settings.match_index
    # Requests doing database work at once: fewer than the pool's connections (one is left for the
    # in-process worker), so a request holding a connection always finds a thread to finish in
    # (web.context.admit).
    app.state.db_permits = anyio.Semaphore(max(1, settings.db_pool_size + settings.db_max_overflow - 1))
    errors.install(app)
    app.state.routers = _routers()
    for r in app.state.routers:
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SecurityHeaders)
    return app
