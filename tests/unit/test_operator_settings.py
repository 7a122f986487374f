"""Operator settings from the environment: a bad value is refused by name."""
import pytest

from dlws_operator.settings import OperatorSettings


@pytest.mark.parametrize("raw", ["0", "-3", "many", "1.5", ""])
def test_bad_concurrent_starts_is_refused_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWS_OPERATOR_CONCURRENT_STARTS", raw)
    with pytest.raises(ValueError, match="DLWS_OPERATOR_CONCURRENT_STARTS"):
        OperatorSettings.from_env()


def test_concurrent_starts_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLWS_OPERATOR_CONCURRENT_STARTS", raising=False)
    assert OperatorSettings.from_env().concurrent_starts == 32
    monkeypatch.setenv("DLWS_OPERATOR_CONCURRENT_STARTS", "4")
    assert OperatorSettings.from_env().concurrent_starts == 4
