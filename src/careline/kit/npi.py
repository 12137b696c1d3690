"""National Provider Identifier (NPI) check digits, per the CMS Luhn rule."""

from __future__ import annotations

import random
import re

# CMS computes the NPI check digit with Luhn over the 9-digit base prefixed by 80840
# (the ISO card-issuer prefix for US health); the prefix always contributes 24 to the sum.
_PREFIX_SUM = 24
_NPI_RE = re.compile(r"[12][0-9]{9}", re.ASCII)


def npi_check_digit(first9: str) -> int:
    """The 10th digit that makes `first9` a valid NPI."""
    if not (isinstance(first9, str) and len(first9) == 9 and first9.isascii() and first9.isdigit()):
        raise ValueError(f"NPI base must be 9 digits, got {first9!r}")
    total = _PREFIX_SUM
    # Luhn doubles every other digit starting with the one just left of the check digit.
    for position, char in enumerate(reversed(first9)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(npi: str) -> bool:
    """Whether `npi` is 10 digits starting with 1 or 2 (as CMS issues them) with a correct check digit."""
    if not isinstance(npi, str) or _NPI_RE.fullmatch(npi) is None:
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])


def require_npi(npi: str) -> str:
    """Return the NPI with surrounding whitespace removed, raising ValueError if it is not valid."""
    cleaned = npi.strip() if isinstance(npi, str) else npi
    if not isinstance(cleaned, str) or _NPI_RE.fullmatch(cleaned) is None:
        raise ValueError(f"invalid NPI {npi!r}: expected 10 digits starting with 1 or 2")
    if not is_valid_npi(cleaned):
        raise ValueError(f"invalid NPI {npi!r}: check digit should be {npi_check_digit(cleaned[:9])}")
    return cleaned


def generate_npi(rng: random.Random) -> str:
    """A random valid NPI (first digit 1 or 2), reproducible from `rng`; for demo and test data only."""
    first9 = str(rng.choice((1, 2))) + "".join(str(rng.randrange(10)) for _ in range(8))
    return first9 + str(npi_check_digit(first9))
