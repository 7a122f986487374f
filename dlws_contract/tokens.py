"""Family tokens: made once per family, known only by digest outside the family Secret."""
import hashlib
import hmac
import re
import secrets
from typing import Final

TOKEN_BYTES: Final = 32  # 256 bits
# Label values hold at most 63 characters; 63 hex digits keep 252 bits of the sha256.
DIGEST_LENGTH: Final = 63
# Tokens we make are 64 lowercase hex digits; DLWS's were 32-hex GUIDs. Anything longer
# than this bound is refused before hashing so a huge value costs nothing.
MAX_TOKEN_LENGTH: Final = 128
_TOKEN_RE: Final = re.compile(rf"[0-9A-Za-z_-]{{16,{MAX_TOKEN_LENGTH}}}")


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def family_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


def is_well_formed(token: str) -> bool:
    return bool(_TOKEN_RE.fullmatch(token))


def matches(token: str, digest: str) -> bool:
    """Whether a presented token belongs to the family with this digest, in constant time."""
    return same_digest(family_digest(token), digest)


def same_digest(a: str, b: str) -> bool:
    """Whether two family digests are equal, in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
