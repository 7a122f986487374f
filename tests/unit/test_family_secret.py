"""The family Secret and token digests."""
import base64

from dlws_contract import resource, tokens
from dlws_contract.resource import owned_by
from dlws_operator.family import build_family_secret, digest_of

ROOT = {"metadata": {"name": "root", "namespace": "ns", "uid": "u-1"}}


def test_secret_is_owned_by_the_root_immutable_and_named_after_it() -> None:
    s = build_family_secret(ROOT, "t" * 64)
    assert s["metadata"]["name"] == "root-family-token"
    assert s["immutable"] is True
    assert owned_by(s, "u-1") and not owned_by(s, "u-2")
    assert s["stringData"] == {resource.SECRET_TOKEN_KEY: "t" * 64}


def test_secret_labels_hold_no_token() -> None:
    token = tokens.new_token()
    s = build_family_secret(ROOT, token)
    assert token not in repr(s["metadata"])


def test_digest_of_stored_secret_matches_token() -> None:
    token = tokens.new_token()
    stored = {"data": {"token": base64.b64encode(token.encode()).decode()}}
    assert digest_of(stored) == tokens.family_digest(token)


def test_tokens_are_256_bit_and_unique() -> None:
    a, b = tokens.new_token(), tokens.new_token()
    assert len(bytes.fromhex(a)) == 32 and a != b


def test_digest_fits_a_label_and_does_not_reveal_the_token() -> None:
    token = tokens.new_token()
    d = tokens.family_digest(token)
    assert len(d) == 63 and d.isalnum() and token not in d


def test_matches_is_exact() -> None:
    token = tokens.new_token()
    d = tokens.family_digest(token)
    assert tokens.matches(token, d)
    assert not tokens.matches(token[:-1], d)
    assert not tokens.matches(token.upper(), d)
