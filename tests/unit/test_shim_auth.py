"""Finding the caller's family from its token."""
import pytest

from api_shim.auth import presented_token
from api_shim.errors import Forbidden
from api_shim.families import Family
from api_shim.job_index import JobIndex
from api_shim.records import JobRecord
from dlws_contract import tokens
from tests.memory_store import MemoryJobStore

TOKEN = tokens.new_token()
DIGEST = tokens.family_digest(TOKEN)


def root(name: str = "r1", **kw: object) -> JobRecord:
    args: dict[str, object] = dict(namespace="ns", name=name, uid="u", family=DIGEST, parent=None,
                                   family_digest=DIGEST, deleting=False, phase="Running",
                                   pod_ip=None, user_name="alice", user_id=1)
    args.update(kw)
    return JobRecord(**args)  # type: ignore[arg-type]


def index_with(*jobs: JobRecord) -> JobIndex:
    index = JobIndex()
    index.replace_all(jobs)
    return index


def authenticate(index: JobIndex, token: str) -> Family:
    return Family.authenticate(token, index, MemoryJobStore())


def test_token_from_the_query() -> None:
    assert presented_token({"familyToken": TOKEN}, None) == TOKEN


def test_token_from_a_bearer_header() -> None:
    assert presented_token({}, f"Bearer {TOKEN}") == TOKEN
    assert presented_token({}, f"bearer  {TOKEN} ") == TOKEN


def test_both_may_be_given_if_they_agree() -> None:
    assert presented_token({"familyToken": TOKEN}, f"Bearer {TOKEN}") == TOKEN


@pytest.mark.parametrize("params,header", [
    ({}, None), ({"familyToken": ""}, None), ({}, "Basic abc"), ({}, "Bearer "),
    ({"familyToken": 12}, None), ({"familyToken": "a" * 64}, f"Bearer {TOKEN}"),
])
def test_absent_or_conflicting_tokens_are_forbidden(params: dict, header: str | None) -> None:
    with pytest.raises(Forbidden):
        presented_token(params, header)


def test_a_token_of_a_live_family_finds_its_root() -> None:
    family = authenticate(index_with(root()), TOKEN)
    assert family.digest == DIGEST and family.root.name == "r1" and family.namespace == "ns"


@pytest.mark.parametrize("token", ["short", "x" * 200, "bad token with spaces" * 3, "a/b" * 10])
def test_malformed_tokens_are_forbidden(token: str) -> None:
    with pytest.raises(Forbidden):
        authenticate(index_with(root()), token)


def test_an_unknown_token_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        authenticate(index_with(root()), tokens.new_token())


def test_a_family_whose_root_is_being_deleted_is_gone() -> None:
    with pytest.raises(Forbidden):
        authenticate(index_with(root(deleting=True)), TOKEN)


def test_a_forged_family_label_without_the_operators_status_is_not_a_family() -> None:
    with pytest.raises(Forbidden):
        authenticate(index_with(root(family_digest=None)), TOKEN)


def test_a_child_is_not_a_root() -> None:
    with pytest.raises(Forbidden):
        authenticate(index_with(root(parent="other")), TOKEN)


def test_two_genuine_roots_with_one_digest_are_refused() -> None:
    with pytest.raises(Forbidden):
        authenticate(index_with(root("r1"), root("r2")), TOKEN)
