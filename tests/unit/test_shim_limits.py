"""Family limits: token bucket, live jobs (with reservations), depth."""
import pytest

from api_shim.limits import RESERVATION_TTL, FamilyLimits, LimitExceeded, TokenBucket


def limits(**kw: float) -> FamilyLimits:
    args = {"max_live_jobs": 3, "max_depth": 2, "rate": 1.0, "burst": 2, **kw}
    return FamilyLimits(**args)  # type: ignore[arg-type]


def test_bucket_allows_a_burst_then_waits() -> None:
    b = TokenBucket(rate=2.0, burst=3, tokens=3, updated=0.0)
    assert [b.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take(0.0) == pytest.approx(0.5)


def test_bucket_refills_at_its_rate_up_to_the_burst() -> None:
    b = TokenBucket(rate=2.0, burst=3, tokens=0, updated=0.0)
    assert b.take(0.5) == 0.0
    b.take(100.0)
    assert b.tokens == pytest.approx(2.0)


def test_rate_limit_is_per_family() -> None:
    lim = limits()
    lim.take_submission("a", 0.0)
    lim.take_submission("a", 0.0)
    with pytest.raises(LimitExceeded) as e:
        lim.take_submission("a", 0.0)
    assert e.value.limit == "rate" and e.value.retry_after == pytest.approx(1.0)
    lim.take_submission("b", 0.0)  # another family is not slowed


def test_depth_limit() -> None:
    lim = limits()
    lim.check_depth(2)
    with pytest.raises(LimitExceeded) as e:
        lim.check_depth(3)
    assert e.value.limit == "depth"


def test_live_jobs_count_the_index_and_reservations() -> None:
    lim = limits()
    lim.reserve("a", "j1", indexed_live=1, is_indexed=lambda n: False, now=0.0)
    lim.reserve("a", "j2", indexed_live=1, is_indexed=lambda n: False, now=0.0)
    with pytest.raises(LimitExceeded) as e:
        lim.reserve("a", "j3", indexed_live=1, is_indexed=lambda n: False, now=0.0)
    assert e.value.limit == "live"


def test_a_reservation_the_index_has_seen_is_not_counted_twice() -> None:
    lim = limits()
    lim.reserve("a", "j1", indexed_live=1, is_indexed=lambda n: False, now=0.0)
    # j1 now in the index: counted there (indexed_live=2), not again as a reservation.
    lim.reserve("a", "j2", indexed_live=2, is_indexed=lambda n: n == "j1", now=0.0)


def test_a_released_reservation_frees_its_slot() -> None:
    lim = limits(max_live_jobs=1)
    lim.reserve("a", "j1", indexed_live=0, is_indexed=lambda n: False, now=0.0)
    lim.release("a", "j1")
    lim.reserve("a", "j2", indexed_live=0, is_indexed=lambda n: False, now=0.0)


def test_reservations_expire() -> None:
    lim = limits(max_live_jobs=1)
    lim.reserve("a", "j1", indexed_live=0, is_indexed=lambda n: False, now=0.0)
    lim.reserve("a", "j2", indexed_live=0, is_indexed=lambda n: False, now=RESERVATION_TTL + 1)
