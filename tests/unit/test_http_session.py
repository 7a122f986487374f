"""kubernetes.aio's session: no per-request netrc lookup unless a proxy is configured."""
from dlws_contract.http_session import client_session_kwargs


def test_no_environment_lookups_without_a_proxy() -> None:
    assert client_session_kwargs({"HOME": "/root", "NO_PROXY": "10.0.0.0/8"}) == {"trust_env": False}


def test_a_proxy_from_the_environment_is_still_honoured() -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"):
        assert client_session_kwargs({name: "http://proxy:3128"}) == {"trust_env": True}
    assert client_session_kwargs({"HTTPS_PROXY": ""}) == {"trust_env": False}
