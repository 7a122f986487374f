"""Console entry point `dlws-api-shim`: flags, logging, and aiohttp's runner."""
from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from api_shim import settings as settings_module
from api_shim.access_log import AccessLogger, RedactingFilter
from api_shim.app import init_app


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the handler, so every record of every library passes it.
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_module.from_args(argv)
    configure_logging(settings.log_level)
    log = logging.getLogger("api_shim")
    log.info("listening on http://%s:%d/ (namespace: %s)", settings.host, settings.port,
             settings.namespace or "all")
    web.run_app(init_app(settings), host=settings.host, port=settings.port,
                access_log=logging.getLogger("api_shim.access"), access_log_class=AccessLogger,
                print=None, shutdown_timeout=5.0)


if __name__ == "__main__":
    main()
