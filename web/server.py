"""Runs the app under uvicorn."""

import ipaddress

from core.errors import LoraportError
from core.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(settings: Settings) -> None:
    import uvicorn

    from web.app import create_app

    if not is_loopback(settings.host) and settings.token is None:
        raise LoraportError(
            f"Binding {settings.host} exposes loraport beyond this machine: set LORAPORT_TOKEN first, "
            "or bind 127.0.0.1."
        )
    print(f"loraport serving on http://{settings.host}:{settings.port}  (workspace {settings.home})", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
