"""`loraport serve`: the web panel, its API and the job worker."""

from typing import Annotated

import typer

from cli.common import settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    ) -> None:
        """Start the web panel and API on HOST:PORT."""
        from web.server import run_server

        run_server(settings(host=host, port=port))
