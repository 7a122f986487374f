"""Runs dlws-operator against the test control plane (filled in with the operator)."""
