"""Logging set-up for the CLI, server and worker; called by entry points, never at import."""

import logging
import os


def setup_logging(level: str | None = None) -> None:
    level = level or os.environ.get("LORAPORT_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "diffusers", "transformers"):
        logging.getLogger(noisy).setLevel(max(logging.getLogger().level, logging.WARNING))
