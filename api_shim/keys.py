"""The typed keys of everything the application holds, in one place."""
from __future__ import annotations

from aiohttp import web

from api_shim.limits import FamilyLimits
from api_shim.metrics import Metrics
from api_shim.settings import Settings
from api_shim.store import JobStore

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", JobStore)
LIMITS = web.AppKey("limits", FamilyLimits)
METRICS = web.AppKey("metrics", Metrics)
