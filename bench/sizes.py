"""How much load each measurement makes: the full run (issue 6's figures), --quick, and
the tiny sizes the integration test uses so the benchmark code cannot rot."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    # 1. SubmitJob latency: sequential samples per path (interleaved), after a warm-up.
    latency_samples: int
    latency_warmup: int
    # 2. SubmitJob throughput: concurrent clients; creates per path per round; rounds
    #    alternate which path goes first.
    throughput_clients: int
    throughput_requests: int
    throughput_rounds: int
    # 3. Submit-to-IP: sequential samples per path, and the number in flight at once;
    #    rounds of that, every path (ours, its floors, the Job controller) in each round.
    ip_sequential: int
    ip_in_flight: int
    ip_rounds: int
    # 4. Kill cascade: root, children, grandchildren per child; rounds, each killing one
    #    family of ours and one of each of its floors.
    kill_children: int
    kill_grandchildren: int
    kill_rounds: int
    # 5. Scale: live jobs, jobs per family, latency samples per path.
    scale_jobs: int
    scale_family_size: int
    scale_samples: int
    # 6. On a real node (--node real): submit-to-answer samples per path; the killed
    #    family's children and grandchildren (in all); kill rounds per path.
    real_answer_samples: int
    real_kill_children: int
    real_kill_grandchildren: int
    real_kill_rounds: int
    # 7. Distributed jobs: rounds per path on a real node (twice as many on kwok).
    dist_rounds: int
    # Longest any one measurement may run (seconds): load is bounded in time.
    measurement_timeout: float
    # 8. TTL sweep: children submitted over sweep_seconds, each with this TTL.
    sweep_jobs: int = 2000
    sweep_ttl: int = 60
    sweep_seconds: float = 200.0

    @property
    def kill_family(self) -> int:
        return 1 + self.kill_children * (1 + self.kill_grandchildren)


FULL = Sizes(name="full", latency_samples=200, latency_warmup=10,
             throughput_clients=32, throughput_requests=500, throughput_rounds=4,
             ip_sequential=40, ip_in_flight=200, ip_rounds=4,
             kill_children=10, kill_grandchildren=99, kill_rounds=2,
             scale_jobs=2000, scale_family_size=100, scale_samples=100,
             real_answer_samples=20, real_kill_children=5, real_kill_grandchildren=24, real_kill_rounds=2,
             dist_rounds=6, measurement_timeout=1200.0)

QUICK = Sizes(name="quick", latency_samples=30, latency_warmup=3,
              throughput_clients=8, throughput_requests=80, throughput_rounds=2,
              ip_sequential=10, ip_in_flight=30, ip_rounds=2,
              kill_children=5, kill_grandchildren=5, kill_rounds=1,
              scale_jobs=200, scale_family_size=50, scale_samples=30,
              real_answer_samples=5, real_kill_children=3, real_kill_grandchildren=6, real_kill_rounds=1,
              dist_rounds=3, measurement_timeout=300.0, sweep_jobs=200, sweep_ttl=10, sweep_seconds=30.0)

TINY = Sizes(name="tiny", latency_samples=4, latency_warmup=1,
             throughput_clients=3, throughput_requests=6, throughput_rounds=1,
             ip_sequential=2, ip_in_flight=4, ip_rounds=1,
             kill_children=2, kill_grandchildren=2, kill_rounds=1,
             scale_jobs=12, scale_family_size=6, scale_samples=4,
             real_answer_samples=2, real_kill_children=2, real_kill_grandchildren=2, real_kill_rounds=1,
             dist_rounds=1, measurement_timeout=180.0, sweep_jobs=6, sweep_ttl=2, sweep_seconds=3.0)

PRESETS = {s.name: s for s in (FULL, QUICK, TINY)}
