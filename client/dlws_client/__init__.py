"""A client for DLWorkspace's /child API, for programs running inside a DLWS job.

Standard library only (urllib), Python 3.8 or newer: pip install it into a job image, or
copy this folder beside the job's code. `dlws-child` (or `python -m dlws_client`) is its
command line.
"""
from dlws_client.api import Family, Job
from dlws_client.errors import (ConfigError, DlwsError, Forbidden, IdempotencyConflict, JobEnded,
                                OverLimit, Refused, Unavailable, WaitTimeout)
from dlws_client.operations import STATUSES
from dlws_client.transport import VERSION as __version__

__all__ = [
    "ConfigError", "DlwsError", "Family", "Forbidden", "IdempotencyConflict", "Job", "JobEnded",
    "OverLimit", "Refused", "STATUSES", "Unavailable", "WaitTimeout", "__version__",
]
