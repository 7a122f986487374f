"""The typed keys of everything the application holds, in one place.

Only the wiring knows them: app.py fills them, the handlers of routes.py read them and
hand each module below the value it needs (a timeout, the index, the store)."""
from __future__ import annotations

from aiohttp import web

from api_shim.admission import Admission
from api_shim.callers import Callers
from api_shim.job_index import JobIndex
from api_shim.kill_index import KillIndex
from api_shim.metrics import Metrics
from api_shim.settings import Settings
from api_shim.shutdown import Shutdown
from api_shim.store import JobStore

SETTINGS = web.AppKey("settings", Settings)
# Reads come from the watch-fed index; changes (and the odd fresh GET) go to the store.
INDEX = web.AppKey("index", JobIndex)
STORE = web.AppKey("store", JobStore)
# The kill records by the jobs they name (kill_index.py): what became of a killed job.
KILLS = web.AppKey("kills", KillIndex)
ADMISSION = web.AppKey("admission", Admission)
# Which job of a family calls: the jobs' Pods by address (callers.py).
CALLERS = web.AppKey("callers", Callers)
METRICS = web.AppKey("metrics", Metrics)
SHUTDOWN = web.AppKey("shutdown", Shutdown)
