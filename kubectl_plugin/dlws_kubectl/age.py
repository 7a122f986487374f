"""A duration as kubectl prints an AGE: short, and coarser the older it is. Pure."""
from __future__ import annotations


def human_age(seconds: float) -> str:
    """2 significant units while they matter (4m30s, 5h12m, 3d4h), one after that."""
    s = int(seconds)
    if s < 0:
        return "0s"  # clocks of this machine and the API server's disagree a little
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years = days // 365
    if years < 8:
        return f"{years}y{days % 365}d" if days % 365 else f"{years}y"
    return f"{years}y"
