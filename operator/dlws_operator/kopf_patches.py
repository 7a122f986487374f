"""A patch we carry for kopf 1.45: its index readiness gate is quadratic in objects.

With indexes, kopf holds back every object's handlers until all objects are indexed. It
does so with a set of toggles (one per object seen in the first listing) sharing one
asyncio.Condition, and every toggle added or dropped wakes *every* waiting worker, which
re-checks the whole set and goes back to sleep. With N objects at start-up that is
~N² wake-ups: with 2,000 jobs and their 2,000 pods, py-spy showed 75 % of a 60 s start
in Condition.notify_all and the waiters' re-checks, before any handler ran.

The replacement below keeps kopf's semantics (waiters wait for the set's aggregate value:
all() for the index gate, any() for the pause gate) and only wakes them when that value
changes. kopf looks the class up as `aiotoggles.ToggleSet` each time it makes a set, so
replacing the module attribute before kopf.run() is enough. Private kopf API: the patch
checks the shape it relies on and, if kopf has changed, leaves kopf alone and says so
(the operator is then correct, only slower to start).
"""
import logging
from collections.abc import Iterable

from kopf._cogs.aiokits import aiotoggles

logger = logging.getLogger(__name__)

_ORIGINAL = aiotoggles.ToggleSet


class AggregateToggleSet(_ORIGINAL):
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


def _shape_is_known() -> bool:
    probe = _ORIGINAL(all)
    return all(hasattr(probe, attr) for attr in ("_condition", "_toggles", "_fn")) and all(
        hasattr(_ORIGINAL, method) for method in ("make_toggle", "drop_toggle", "drop_toggles", "wait_for"))


def apply() -> bool:
    """Installs the patch (idempotent). False if kopf's internals are not what it expects."""
    if aiotoggles.ToggleSet is AggregateToggleSet:
        return True
    if not _shape_is_known():
        logger.warning("kopf's ToggleSet has changed; start-up with many jobs stays quadratic "
                       "(dlws_operator.kopf_patches not applied)")
        return False
    aiotoggles.ToggleSet = AggregateToggleSet  # type: ignore[misc]
    return True
