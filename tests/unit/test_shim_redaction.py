"""No log line shows a family token."""
import logging

import pytest

from api_shim.access_log import REDACTED, AccessLogger, RedactingFilter, redact
from dlws_contract import tokens

TOKEN = tokens.new_token()


@pytest.mark.parametrize("text", [
    f"/child/SubmitJob?familyToken={TOKEN}&jobName=x",
    f"/KillJob?jobId=abc&familyToken={TOKEN}",
    f"/KillJob?FAMILYTOKEN={TOKEN}",
    f"/child/{TOKEN}/SubmitJob",
    f"Authorization: Bearer {TOKEN}",
    f"token is {TOKEN.upper()}.",
])
def test_redact_hides_the_token(text: str) -> None:
    assert TOKEN not in redact(text).lower()
    assert REDACTED in redact(text)


def test_redact_keeps_job_ids_and_other_parameters() -> None:
    text = "/child/KillJob?jobId=5f0c6c1e-1234-4000-8000-00000000abcd&familyToken=x"
    assert redact(text) == f"/child/KillJob?jobId=5f0c6c1e-1234-4000-8000-00000000abcd&familyToken={REDACTED}"


def test_filter_rewrites_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", (TOKEN,), None)
    try:
        raise ValueError(TOKEN)
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage()
    assert record.exc_text is not None and TOKEN not in record.exc_text


class _Req:
    def __init__(self, path: str) -> None:
        from yarl import URL
        self.rel_url = URL(path)
        self.method = "GET"
        self.remote = "127.0.0.1"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}


class _Resp:
    status = 200
    body_length = 10


def test_access_log_line_has_no_token(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.access")
    with caplog.at_level(logging.INFO, logger="test.access"):
        AccessLogger(logger, "").log(_Req(f"/child/SubmitJob?family%54oken={TOKEN}&jobName=a"),  # type: ignore[arg-type]
                                     _Resp(), 0.01)  # type: ignore[arg-type]
    line = caplog.records[-1].getMessage()
    assert TOKEN not in line and "jobName=a" in line and "Bearer" not in line
