"""The FastAPI application. Routes adapt tool and agent calls; no business logic lives here."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from core.errors import LoraportError
from core.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="loraport", version="0.1.0")
    app.state.settings = settings

    @app.exception_handler(LoraportError)
    async def _user_error(request: Request, err: LoraportError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status_code)

    from web.routes import health

    app.include_router(health.router)
    return app
