"""The operator's configuration from the environment: a bad value is refused by name."""
import pytest

from dlws_operator.config import OperatorConfig


@pytest.mark.parametrize("raw", ["0", "-3", "many", "1.5", ""])
def test_bad_concurrent_starts_is_refused_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWS_OPERATOR_CONCURRENT_STARTS", raw)
    with pytest.raises(ValueError, match="DLWS_OPERATOR_CONCURRENT_STARTS"):
        OperatorConfig.from_env()


def test_concurrent_starts_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLWS_OPERATOR_CONCURRENT_STARTS", raising=False)
    assert OperatorConfig.from_env().concurrent_starts == 32
    monkeypatch.setenv("DLWS_OPERATOR_CONCURRENT_STARTS", "4")
    assert OperatorConfig.from_env().concurrent_starts == 4


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf", ""])
def test_bad_request_timeout_is_refused_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWS_OPERATOR_REQUEST_TIMEOUT", raw)
    with pytest.raises(ValueError, match="DLWS_OPERATOR_REQUEST_TIMEOUT"):
        OperatorConfig.from_env()


def test_request_timeout_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWS_OPERATOR_REQUEST_TIMEOUT", "2.5")
    assert OperatorConfig.from_env().request_timeout == 2.5


def test_the_operator_stops_at_once_on_a_bad_setting(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from dlws_operator.main import main
    monkeypatch.setenv("DLWS_OPERATOR_CONCURRENT_STARTS", "lots")
    with pytest.raises(SystemExit) as exited:
        main([])  # before kopf runs: no cluster is touched
    assert exited.value.code == 2
    assert "DLWS_OPERATOR_CONCURRENT_STARTS" in capsys.readouterr().err


@pytest.mark.parametrize("raw", ["-1", "big", "1.5", ""])
def test_bad_tls_read_buffer_is_refused_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWS_OPERATOR_TLS_READ_BUFFER", raw)
    with pytest.raises(ValueError, match="DLWS_OPERATOR_TLS_READ_BUFFER"):
        OperatorConfig.from_env()


def test_tls_read_buffer_default_and_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLWS_OPERATOR_TLS_READ_BUFFER", raising=False)
    assert OperatorConfig.from_env().tls_read_buffer == 64 * 1024
    monkeypatch.setenv("DLWS_OPERATOR_TLS_READ_BUFFER", "0")
    assert OperatorConfig.from_env().tls_read_buffer == 0


def test_job_storage_is_a_claim_or_a_host_path_never_both(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not OperatorConfig.from_env().has_storage
    monkeypatch.setenv("DLWS_OPERATOR_STORAGE_CLAIM", "dlws-storage")
    got = OperatorConfig.from_env()
    assert (got.storage_claim, got.storage_host_path, got.has_storage) == ("dlws-storage", "", True)
    monkeypatch.setenv("DLWS_OPERATOR_STORAGE_HOST_PATH", "/srv/dlws/")
    with pytest.raises(ValueError, match="not both"):
        OperatorConfig.from_env()
    monkeypatch.delenv("DLWS_OPERATOR_STORAGE_CLAIM")
    assert OperatorConfig.from_env().storage_host_path == "/srv/dlws"
    for bad in ("relative/dir", "/srv/../etc"):
        monkeypatch.setenv("DLWS_OPERATOR_STORAGE_HOST_PATH", bad)
        with pytest.raises(ValueError, match="DLWS_OPERATOR_STORAGE_HOST_PATH"):
            OperatorConfig.from_env()
    monkeypatch.delenv("DLWS_OPERATOR_STORAGE_HOST_PATH")
    monkeypatch.setenv("DLWS_OPERATOR_STORAGE_CLAIM", "Not_A_Name")
    with pytest.raises(ValueError, match="DLWS_OPERATOR_STORAGE_CLAIM"):
        OperatorConfig.from_env()


def test_shm_size_is_a_memory_quantity_or_the_jobs_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OperatorConfig.from_env().shm_size == ""
    monkeypatch.setenv("DLWS_OPERATOR_SHM_SIZE", "1Gi")
    assert OperatorConfig.from_env().shm_size == "1Gi"
    for bad in ("0", "lots", "-1Gi"):
        monkeypatch.setenv("DLWS_OPERATOR_SHM_SIZE", bad)
        with pytest.raises(ValueError, match="DLWS_OPERATOR_SHM_SIZE"):
            OperatorConfig.from_env()


def test_ttl_after_finished_unset_keeps_and_a_number_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLWS_OPERATOR_TTL_SECONDS_AFTER_FINISHED", raising=False)
    assert OperatorConfig.from_env().ttl_seconds_after_finished is None
    monkeypatch.setenv("DLWS_OPERATOR_TTL_SECONDS_AFTER_FINISHED", "86400")
    assert OperatorConfig.from_env().ttl_seconds_after_finished == 86400
    for raw in ("-1", "1d", "1.5"):
        monkeypatch.setenv("DLWS_OPERATOR_TTL_SECONDS_AFTER_FINISHED", raw)
        with pytest.raises(ValueError, match="DLWS_OPERATOR_TTL_SECONDS_AFTER_FINISHED"):
            OperatorConfig.from_env()


def test_node_ports_are_off_unless_turned_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLWS_OPERATOR_NODE_PORTS", raising=False)
    assert OperatorConfig.from_env().node_ports is False
    monkeypatch.setenv("DLWS_OPERATOR_NODE_PORTS", "true")
    assert OperatorConfig.from_env().node_ports is True
    monkeypatch.setenv("DLWS_OPERATOR_NODE_PORTS", "maybe")
    with pytest.raises(ValueError, match="DLWS_OPERATOR_NODE_PORTS"):
        OperatorConfig.from_env()
