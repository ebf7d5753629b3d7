"""The FastAPI application. Routes adapt tool and agent calls; no business logic lives here."""

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from core.errors import LoraportError
from core.settings import Settings, get_settings
from core.store import open_db
from core.workspace import Workspace

STATIC_DIR = Path(__file__).parent / "static"
# The page loads nothing from elsewhere and runs only its own modules (no inline script, nothing fetched off-site).
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                           "connect-src 'self'; object-src 'none'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff"}
JSON_BODY_MAX = 1 << 20  # a Studio request or caption edit is a few KiB; a 10 GB JSON body would sit in memory


def create_app(settings: Settings | None = None, *, sidekick_factory: Callable | None = None) -> FastAPI:
    """The app; ``sidekick_factory(workspace, thread_id)`` replaces ``agent.session.Sidekick`` (tests, benches)."""
    from web.chat_hub import ChatHub

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await app.state.hub.close()

    app = FastAPI(title="loraport", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    workspace = Workspace(settings.home).ensure()
    open_db(workspace).close()  # migrate once now: many first requests racing to migrate a blank DB would lock it
    app.state.hub = ChatHub(workspace, sidekick_factory)
    from web.limits import DeclaredBodyLimit
    from web.origin import OriginGuard

    app.add_middleware(DeclaredBodyLimit, max_bytes=JSON_BODY_MAX)  # added first: runs after the checks below
    if settings.token is not None:
        from web.auth import TokenMiddleware

        app.add_middleware(TokenMiddleware, token=settings.token.get_secret_value())
    app.add_middleware(OriginGuard, token_set=settings.token is not None, bound_host=settings.host,
                       public_url=settings.public_url)

    @app.exception_handler(LoraportError)
    async def _user_error(request: Request, err: LoraportError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status_code)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, err: HTTPException) -> JSONResponse:
        message = err.detail if isinstance(err.detail, str) else str(err.detail)
        if err.status_code == 413:
            message = (f"Request body too large: JSON bodies are limited to {JSON_BODY_MAX >> 10} KiB. Send files "
                       "with POST /api/uploads.")
        if err.status_code == 404:
            message = f"Nothing at {request.url.path}: the API lives under /api (see /docs)."
        return JSONResponse({"error": message}, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        detail = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in err.errors()]  # ctx may hold exceptions
        return JSONResponse({"error": f"Bad request: {problems}", "detail": detail}, status_code=422)

    from web.routes import artifacts, chat, datasets, health, inspect, jobs, studio, threads, uploads
    from web.bots import bots_router

    app.include_router(health.router)
    for module in (uploads, inspect):  # multipart: streamed to disk under their own size limit
        app.include_router(module.router)
    for module in (threads, datasets, jobs, artifacts, studio, chat):
        app.include_router(module.router, max_body_size=JSON_BODY_MAX)
    # Slack / Discord routes, only for the bots whose settings are set; their payloads are a few KiB
    app.include_router(bots_router(settings), max_body_size=JSON_BODY_MAX)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache", **PAGE_HEADERS})

    return app
