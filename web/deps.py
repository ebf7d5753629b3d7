"""Dependencies as ``Annotated`` aliases, so a route's signature reads as types (as FastAPI's full-stack template does)."""

from collections.abc import Iterator
from typing import Annotated

import sqlite_utils
from fastapi import Depends
from starlette.requests import HTTPConnection

from core.settings import Settings
from core.store import open_db
from core.workspace import Workspace


def get_app_settings(conn: HTTPConnection) -> Settings:
    # HTTPConnection, not Request: the same dependency serves HTTP routes and the websocket.
    return conn.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_workspace(settings: SettingsDep) -> Workspace:
    return Workspace(settings.home).ensure()


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def get_db(workspace: WorkspaceDep) -> Iterator[sqlite_utils.Database]:
    """One connection per request. FastAPI may run this dependency, a sync route and the clean-up on three different
    pool threads, so the connection is not tied to its creating thread (it is still never shared)."""
    db = open_db(workspace, check_same_thread=False)
    try:
        yield db
    finally:
        db.close()


DbDep = Annotated[sqlite_utils.Database, Depends(get_db)]
