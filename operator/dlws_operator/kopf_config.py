"""Everything we tell kopf, and the one thing we change in it: its settings, how it logs
in and logs, what it stores on each job, and a patch for its index readiness gate.

Our controller begins where kopf calls lifecycle.py; kopf's own machinery (its DLWSJob
watch, per-job workers, retries, job index, liveness endpoint) is configured only here.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import kopf
from kopf._cogs.aiokits import aiotoggles

from dlws_contract import resource

STORAGE_PREFIX = f"operator.{resource.GROUP}"
MARKER = "kopf-managed"
# Begins the TemporaryError of a job waiting for quota (lifecycle.wait_for_quota): kopf
# would log it at ERROR and post it as an Event at every retry.
WAITING_MARK = "waiting for room in the namespace:"

logger = logging.getLogger(__name__)


class WaitingForRoom(kopf.TemporaryError):
    """run_job's way of having kopf run it again later for a job waiting for quota: kopf's
    own exception, so it lives here with WAITING_MARK and not in the pure refusals.py."""


def prepare(*, verbose: bool) -> None:
    """Before kopf.run: logging, and the ToggleSet patch."""
    kopf.configure(verbose=verbose)
    if not verbose:
        # kopf logs two or three INFO lines per job event ("Handler 'on_job_event'
        # succeeded."): thousands a second in a burst or a kill. Warnings still show.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, QuietWaits) for f in objects.filters):
        objects.addFilter(QuietWaits())
    patch_toggle_sets()


class QuietWaits(logging.Filter):
    """Drops kopf's "Handler 'run_job' failed temporarily: waiting for room ..." lines,
    and with them the Events kopf would post for them (its Event poster is a handler of
    the same logger): a job waiting for quota is not an error, and it says so once, in
    its status and our own Event."""

    def filter(self, record: logging.LogRecord) -> bool:
        return WAITING_MARK not in record.getMessage()


def configure(settings: kopf.OperatorSettings, handled: HandledJobs) -> None:
    """At kopf's start-up."""
    # What kopf keeps on each job: nothing once its handlers succeed (HandledJobs).
    # Progress annotations, while a handler retries, live in our own domain.
    settings.persistence.progress_storage = ProgressAnnotations(prefix=STORAGE_PREFIX)
    settings.persistence.diffbase_storage = handled
    settings.persistence.finalizer = f"{STORAGE_PREFIX}/finalizer"  # never added: no delete handlers
    # Watches end server-side every few minutes and are resumed, so a silently dropped
    # connection is noticed; API calls time out instead of hanging a handler.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 30
    settings.networking.connect_timeout = 10
    # kopf turns its per-object log lines at this level into Events: at INFO, several
    # "Handler ... succeeded" per job. The Events worth reading are ours (events.py).
    settings.posting.level = logging.WARNING


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the ServiceAccount; elsewhere the kubeconfig named by --kubeconfig (kopf's
    default login reads $KUBECONFIG once at import, before --kubeconfig is parsed)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return kopf.login_with_service_account(**kwargs)
    return kopf.login_with_kubeconfig(**kwargs)


# -- what kopf stores on each job ------------------------------------------------------------
#
# By default kopf writes a "diff base" (a copy of the spec, labels and annotations) into a
# job's annotations once its creation handlers succeed, and leaves a "kopf-managed" marker
# behind: each a PATCH of the job and a watch event to every watcher. We have no update
# handlers, so all kopf needs is "has this job been handled?", which a set of uids answers.
# After a restart the set is empty: kopf treats each job as new and runs run_job, which is
# registered for creation and resumption alike and finds the pod it made. Progress records
# are still written while a handler retries, marker included; they survive restarts.


class HandledJobs(kopf.DiffBaseStorage):
    def __init__(self) -> None:
        super().__init__()
        self._uids: set[str] = set()

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        # kopf compares essences only to find what changed for update and field handlers,
        # which we do not have (tests/unit/test_operator_kopf_storage.py fails if one is
        # added). An empty essence spares kopf four deep copies of the job per event.
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        # Equal to build(): kopf then sees "no change" (or "resume", at start-up).
        return kopf.BodyEssence() if body.metadata.uid in self._uids else None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        self._uids.add(str(body.metadata.uid))  # nothing goes into the patch

    def forget(self, uid: str) -> None:
        """Called when the job is gone, so the set holds live jobs only."""
        self._uids.discard(uid)

    def __contains__(self, uid: object) -> bool:
        return uid in self._uids


class ProgressAnnotations(kopf.AnnotationsProgressStorage):
    """kopf's progress annotations, without the marker once no record is left to mark.

    The marker tells other kopf operators to ignore our annotations; kopf adds it with
    the first progress record, which on a first-time success is purged in the same
    patch. With no record of ours left in the patch or on the job, it marks nothing.
    """

    def purge(self, *, key: kopf.HandlerId, body: kopf.Body, patch: kopf.Patch) -> None:
        super().purge(key=key, body=body, patch=patch)
        marker = f"{self.prefix}/{MARKER}"
        metadata = patch.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        ours = [k for k in annotations if k.startswith(f"{self.prefix}/") and k != marker]
        if marker in annotations and not ours and marker not in body.metadata.annotations:
            drop_marker(patch, marker)


def drop_marker(patch: dict[str, Any], marker: str) -> None:
    """Removes the marker from a patch, and the stanzas that leaves empty: kopf sends
    any non-empty patch, even {"metadata": {"annotations": {}}}."""
    annotations = patch["metadata"]["annotations"]
    del annotations[marker]
    if not annotations:
        del patch["metadata"]["annotations"]
    if not patch["metadata"]:
        del patch["metadata"]


# -- the patch for kopf's index readiness gate ------------------------------------------------
#
# kopf 1.45 wakes every waiting worker on every toggle added to or dropped from a ToggleSet:
# ~N² wake-ups for N jobs at start-up. AggregateToggleSet wakes them only when the set's
# aggregate value changes (docs/kopf-upstream-patch.md). Private kopf API, pinned in
# setup.cfg: if kopf's shape has changed the patch is not applied, and says so.

_ORIGINAL_TOGGLE_SET = aiotoggles.ToggleSet


class AggregateToggleSet(_ORIGINAL_TOGGLE_SET):
    """kopf's ToggleSet, waking its waiters only when is_on() changes."""

    async def make_toggle(self, __val: bool = False, *, name: str | None = None) -> aiotoggles.Toggle:
        toggle = aiotoggles.Toggle(__val, name=name, condition=self._condition)
        async with self._condition:
            before = self.is_on()
            self._toggles.add(toggle)
            if self.is_on() != before:
                self._condition.notify_all()
        return toggle

    async def drop_toggle(self, toggle: aiotoggles.Toggle) -> None:
        await self.drop_toggles([toggle])

    async def drop_toggles(self, toggles: Iterable[aiotoggles.Toggle]) -> None:
        async with self._condition:
            before = self.is_on()
            self._toggles.difference_update(toggles)
            if self.is_on() != before:
                self._condition.notify_all()


def _toggle_set_shape_is_known() -> bool:
    probe = _ORIGINAL_TOGGLE_SET(all)
    return all(hasattr(probe, attr) for attr in ("_condition", "_toggles", "_fn")) and all(
        hasattr(_ORIGINAL_TOGGLE_SET, method) for method in ("make_toggle", "drop_toggle", "drop_toggles", "wait_for"))


def patch_toggle_sets() -> bool:
    """Installs AggregateToggleSet (idempotent). False if kopf's internals are not what it expects."""
    if aiotoggles.ToggleSet is AggregateToggleSet:
        return True
    if not _toggle_set_shape_is_known():
        logger.warning("kopf's ToggleSet has changed; start-up with many jobs stays quadratic "
                       "(dlws_operator.kopf_config not patched)")
        return False
    aiotoggles.ToggleSet = AggregateToggleSet  # type: ignore[misc]
    return True
