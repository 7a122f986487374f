"""Settings from flags and the environment, with safe defaults."""
from pathlib import Path

import pytest
import yaml

from api_shim.settings import Settings, from_args

REPO = Path(__file__).parents[2]
KUBERNETES_DEFAULT_GRACE_PERIOD = 30


def test_defaults_are_safe() -> None:
    s = from_args([], environ={})
    assert (s.host, s.port) == ("127.0.0.1", 5000)
    assert (s.max_live_jobs, s.max_depth, s.submit_rate, s.submit_burst) == (100, 5, 5.0, 20)
    assert (s.max_ip_wait, s.k8s_timeout, s.max_body, s.read_timeout) == (60.0, 10.0, 64 * 1024, 10.0)
    assert s.kubeconfig is None and s.namespace is None
    assert (s.shutdown_delay, s.drain_timeout) == (5.0, 15.0)


def test_flags_override() -> None:
    s = from_args(["--host", "0.0.0.0", "--port", "5001", "--kubeconfig", "/k", "--max-live-jobs", "3",
                   "--submit-rate", "0.5"], environ={})
    assert (s.host, s.port, s.kubeconfig, s.max_live_jobs, s.submit_rate) == ("0.0.0.0", 5001, "/k", 3, 0.5)


def test_environment_sets_defaults_and_flags_win() -> None:
    env = {"DLWS_SHIM_MAX_DEPTH": "2", "DLWS_SHIM_PORT": "6000"}
    s = from_args(["--port", "7000"], environ=env)
    assert (s.max_depth, s.port) == (2, 7000)


@pytest.mark.parametrize("kw", [{"port": 0}, {"max_live_jobs": 0}, {"submit_rate": 0}, {"max_ip_wait": -1},
                                {"read_timeout": 0}, {"shutdown_delay": -1}, {"drain_timeout": 0}])
def test_nonsense_is_refused(kw: dict) -> None:
    with pytest.raises(ValueError):
        Settings(**kw)


def test_the_default_shutdown_ends_well_within_the_default_grace_period() -> None:
    s = Settings()
    assert s.shutdown_delay + s.drain_timeout <= KUBERNETES_DEFAULT_GRACE_PERIOD - 5


def test_the_deployment_gives_the_shutdown_its_delay_and_drain_before_sigkill() -> None:
    deployment = yaml.safe_load((REPO / "manifests" / "shim" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    s = from_args(container["args"], environ={e["name"]: e["value"] for e in container.get("env", [])})
    assert s.shutdown_delay + s.drain_timeout <= pod["terminationGracePeriodSeconds"] - 5


def test_caller_lookup_and_trusted_proxies_from_flags_and_environment() -> None:
    s = from_args(["--caller-lookup", "false", "--trusted-proxies", "10.0.0.0/8"], environ={})
    assert s.caller_lookup is False and [str(n) for n in s.trusted_proxy_networks] == ["10.0.0.0/8"]
    assert from_args([], environ={"DLWS_SHIM_CALLER_LOOKUP": "0"}).caller_lookup is False
    assert from_args([], environ={}).caller_lookup is True
    with pytest.raises(SystemExit):
        from_args(["--caller-lookup", "maybe"], environ={})
    with pytest.raises(ValueError, match="trusted_proxies: 'proxy' is not an address"):
        Settings(trusted_proxies="proxy")
