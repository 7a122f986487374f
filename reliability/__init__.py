"""Measurements behind docs/reliability.md that are not tests (no timed assertion belongs
in a test): token-check timing and cross-family latency under a flood.

    .venv/bin/python -m reliability.token_timing
    .venv/bin/python -m reliability.flood_latency
"""
