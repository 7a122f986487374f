"""Kubernetes resource quantities ("500m", "2048M", "2Gi", "1.5", "1e3"), as far as a job's
CPU and memory need them: parsed exactly (a Fraction, never a float) so that a request can
be compared with its limit the way the API server compares them.

Only unsigned values: a job's CPU and memory are never negative. The CRD checks the same
shape with QUANTITY_PATTERN and compares with CEL's quantity() (crds/dlwsjob.yaml).
"""
import re
from fractions import Fraction
from typing import Final

MAX_LENGTH: Final = 32
QUANTITY_PATTERN: Final = r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)([KMGTPE]i|[eE][+-]?[0-9]{1,3}|[mkMGTPE])?$"

_BINARY: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: Final = {"m": Fraction(1, 1000), "": Fraction(1), "k": Fraction(10**3), "M": Fraction(10**6),
                   "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18)}


class InvalidQuantity(ValueError):
    pass


def parse_quantity(text: str) -> Fraction:
    """The value of a quantity (cores, or bytes); InvalidQuantity if it is not one."""
    if len(text) > MAX_LENGTH or not (match := re.fullmatch(QUANTITY_PATTERN, text)):
        raise InvalidQuantity(text)
    number, suffix = Fraction(match.group(1)), match.group(3) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * Fraction(10) ** int(suffix[1:])  # an exponent, e.g. e3
