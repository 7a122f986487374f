"""Argo CD's health check for DLWSJob (manifests/argocd/dlwsjob-health.lua), run in a real
Lua interpreter the way Argo CD runs it: the object as the global `obj`, nested tables and
1-based arrays."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import LuaRuntime  # type: ignore[import-untyped]

ARGOCD = Path(__file__).parents[1] / "manifests" / "argocd"
SCRIPT = (ARGOCD / "dlwsjob-health.lua").read_text()


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) that Argo CD shows for this DLWSJob."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = _to_lua(lua, obj)
    result = lua.execute(SCRIPT)
    return str(result["status"]), str(result["message"])


def _to_lua(lua: LuaRuntime, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value
