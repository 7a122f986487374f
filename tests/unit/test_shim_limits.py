"""Family limits, the pure bookkeeping: the token bucket, and the reservations that count
new jobs the index has not shown yet. What a caller meets (429s for rate, live jobs and
depth, per family) is in tests/unit/test_shim_http.py."""
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


def admits(lim: FamilyLimits, name: str, *, indexed_live: int, indexed: frozenset[str] = frozenset(),
           now: float = 0.0) -> bool:
    """Whether family a's live-job count has room for one more job, `name` (reserved if so)."""
    try:
        lim.reserve("a", name, indexed_live=indexed_live, is_indexed=indexed.__contains__, now=now)
    except LimitExceeded as e:
        assert e.limit == "live"
        return False
    return True


def test_a_reservation_the_index_has_seen_is_not_counted_twice() -> None:
    lim = limits()  # 3 live jobs
    assert admits(lim, "j1", indexed_live=1)
    # j1 now in the index: counted there (indexed_live=2), not again as a reservation.
    assert admits(lim, "j2", indexed_live=2, indexed=frozenset({"j1"}))
    assert not admits(lim, "j3", indexed_live=2, indexed=frozenset({"j1"}))  # 2 indexed + j2: full


def test_a_released_reservation_frees_its_slot() -> None:
    lim = limits(max_live_jobs=1)
    assert admits(lim, "j1", indexed_live=0)
    assert not admits(lim, "j2", indexed_live=0)
    lim.release("a", "j1")
    assert admits(lim, "j2", indexed_live=0)


def test_reservations_expire() -> None:
    lim = limits(max_live_jobs=1)
    assert admits(lim, "j1", indexed_live=0, now=0.0)
    assert not admits(lim, "j2", indexed_live=0, now=RESERVATION_TTL - 1)
    assert admits(lim, "j2", indexed_live=0, now=RESERVATION_TTL + 1)
