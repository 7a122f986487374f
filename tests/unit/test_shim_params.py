"""Parameters from the query and a JSON or form body, merged into one dict."""
import pytest

from api_shim.errors import BadRequest
from api_shim.params import MAX_PARAMETERS, merge, parse_json_object


def test_query_and_body_merge() -> None:
    assert merge([("a", "1")], [("b", 2)]) == {"a": "1", "b": 2}


def test_the_same_value_twice_is_fine() -> None:
    assert merge([("a", "1")], [("a", "1")]) == {"a": "1"}


def test_a_parameter_with_two_values_is_refused() -> None:
    with pytest.raises(BadRequest, match="more than once"):
        merge([("jobId", "x"), ("jobId", "y")])
    with pytest.raises(BadRequest, match="more than once"):
        merge([("jobId", "x")], [("jobId", "y")])


def test_too_many_parameters_are_refused() -> None:
    with pytest.raises(BadRequest, match="too many"):
        merge([(f"p{i}", "v") for i in range(MAX_PARAMETERS + 1)])


def test_json_object_parses() -> None:
    assert parse_json_object(b'{"jobName": "x", "resourcegpu": 1}') == {"jobName": "x", "resourcegpu": 1}


def test_empty_body_is_no_parameters() -> None:
    assert parse_json_object(b"  ") == {}


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe", b'{"a": }'])
def test_malformed_json_is_a_clear_error(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json_object(raw)


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"3", b"null"])
def test_json_that_is_not_an_object_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="must be an object"):
        parse_json_object(raw)


def test_the_error_does_not_echo_the_body() -> None:
    with pytest.raises(BadRequest) as e:
        parse_json_object(b'{"familyToken": "abc' + b"f" * 64)
    assert "f" * 64 not in e.value.message
