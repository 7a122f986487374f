"""The ToggleSet patch: kopf's semantics kept, waiters woken only when the aggregate changes."""
import asyncio

from kopf._cogs.aiokits import aiotoggles

from dlws_operator import kopf_config


def test_the_patch_applies_to_the_installed_kopf() -> None:
    # If kopf's internals move, the patch refuses; this test says so before a slow start does.
    assert kopf_config.patch_toggle_sets()
    assert aiotoggles.ToggleSet is kopf_config.AggregateToggleSet
    assert kopf_config.patch_toggle_sets()  # idempotent


async def test_waiters_wake_when_the_last_off_toggle_is_dropped() -> None:
    gate = kopf_config.AggregateToggleSet(all)
    toggles = [await gate.make_toggle(name=str(i)) for i in range(50)]
    assert gate.is_off()
    woken: list[int] = []

    async def waiter(i: int) -> None:
        await gate.wait_for(True)
        woken.append(i)

    tasks = [asyncio.create_task(waiter(i)) for i in range(20)]
    await asyncio.sleep(0)
    for toggle in toggles[:-1]:
        await gate.drop_toggle(toggle)
        await asyncio.sleep(0)
    assert woken == []
    await gate.drop_toggles([toggles[-1]])
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert sorted(woken) == list(range(20)) and gate.is_on()


async def test_adding_an_off_toggle_to_an_all_set_turns_it_off_and_wakes_off_waiters() -> None:
    gate = kopf_config.AggregateToggleSet(all)
    assert gate.is_on()  # all() of nothing
    off_waiter = asyncio.create_task(gate.wait_for(False))
    await asyncio.sleep(0)
    await gate.make_toggle(False)
    await asyncio.wait_for(off_waiter, 5)


async def test_any_set_semantics_kept_for_the_pause_gate() -> None:
    paused = kopf_config.AggregateToggleSet(any)
    toggle = await paused.make_toggle(True, name="peering missing")
    assert paused.is_on()
    resumed = asyncio.create_task(paused.wait_for(False))
    await asyncio.sleep(0)
    await toggle.turn_to(False)  # a toggle flipping itself still wakes the set's waiters
    await asyncio.wait_for(resumed, 5)


async def test_waiters_are_not_woken_while_the_aggregate_stays_the_same() -> None:
    gate = kopf_config.AggregateToggleSet(all)
    first = await gate.make_toggle()
    checks = 0
    original = gate.is_on

    async def waiter() -> None:
        nonlocal checks

        def counting() -> bool:
            nonlocal checks
            checks += 1
            return original()

        async with gate._condition:
            await gate._condition.wait_for(lambda: counting())

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    baseline = checks
    more = [await gate.make_toggle() for _ in range(100)]
    for toggle in more:
        await gate.drop_toggle(toggle)
    await asyncio.sleep(0)
    assert checks == baseline  # 200 changes to the set, no aggregate change: nobody woken
    await gate.drop_toggle(first)
    await asyncio.wait_for(task, 5)
