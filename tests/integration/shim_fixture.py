"""Runs dlws-api-shim against the test control plane (filled in with the shim)."""
