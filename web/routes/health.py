from fastapi import APIRouter, Request

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def read_health(request: Request) -> dict:
    settings = request.app.state.settings
    return {"status": "ok", "version": "0.1.0", "home": str(settings.home), "default_model": settings.default_model}
