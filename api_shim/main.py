"""Console entry point `dlws-api-shim`: flags, logging, and the server (shutdown.py)."""
from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from api_shim import settings as settings_module
from api_shim.access_log import AccessLogger, RedactingFilter
from api_shim.app import init_app, serve_app
from api_shim.job_index import JobIndex
from api_shim.settings import Settings
from api_shim.store import JobStore


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the handler, so every record of every library passes it.
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


async def run(settings: Settings, *, store: JobStore | None = None, index: JobIndex | None = None) -> None:
    """Serves until a stop signal has run its course (shutdown.py). store and index: as for
    init_app (tests of the process run it on the in-memory store)."""
    app = await init_app(settings, store=store, index=index)
    await serve_app(app, access_log=logging.getLogger("api_shim.access"), access_log_class=AccessLogger)


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_module.from_args(argv)
    configure_logging(settings.log_level)
    asyncio.run(run(settings))  # returns (exit status 0) once shutdown.serve has stopped


if __name__ == "__main__":
    main()
