"""Tests for NPI check digits."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.kit.npi import generate_npi, is_valid_npi, npi_check_digit, require_npi


def _luhn_ok(digits: str) -> bool:
    """Textbook Luhn check over a full number, check digit included (an independent oracle)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def test_cms_example() -> None:
    # CMS's own worked example: base 123456789 gets check digit 3.
    assert npi_check_digit("123456789") == 3
    assert is_valid_npi("1234567893")


# 2000000002 by hand: the doubled leading 2 gives 4, plus the prefix's 24 is 28, so the check digit is 2.
@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126", "2000000002"])
def test_valid_npis(npi: str) -> None:
    assert is_valid_npi(npi)
    assert _luhn_ok("80840" + npi)
    assert require_npi(npi) == npi


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",  # wrong check digit
        "1234567894",
        "123456789",  # too short
        "12345678931",  # too long
        "3234567893",  # CMS issues NPIs starting with 1 or 2 only
        "0234567893",
        "12345678a3",
        "",
        "１２３４５６７８９３",  # full-width digits
    ],
)
def test_invalid_npis(npi: str) -> None:
    assert not is_valid_npi(npi)
    with pytest.raises(ValueError, match="invalid NPI"):
        require_npi(npi)


def test_require_npi_says_what_the_check_digit_should_be() -> None:
    with pytest.raises(ValueError, match=r"'1234567890'.*should be 3"):
        require_npi("1234567890")


def test_require_npi_strips_whitespace() -> None:
    assert require_npi(" 1234567893 ") == "1234567893"


def test_non_text_is_invalid() -> None:
    assert not is_valid_npi(1234567893)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        require_npi(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("base", ["12345678", "1234567890", "12345678x", ""])
def test_check_digit_needs_nine_digits(base: str) -> None:
    with pytest.raises(ValueError, match="9 digits"):
        npi_check_digit(base)


@given(st.from_regex(r"[12][0-9]{8}", fullmatch=True))
def test_check_digit_agrees_with_plain_luhn_over_the_prefixed_number(base: str) -> None:
    npi = base + str(npi_check_digit(base))
    assert _luhn_ok("80840" + npi)
    assert is_valid_npi(npi)
    # Any other final digit is caught.
    wrong = base + str((int(npi[-1]) + 1) % 10)
    assert not is_valid_npi(wrong)


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_npis_are_valid(seed: int) -> None:
    npi = generate_npi(random.Random(seed))
    assert len(npi) == 10 and npi[0] in "12"
    assert is_valid_npi(npi)


def test_generation_is_reproducible() -> None:
    first = [generate_npi(random.Random(7)) for _ in range(3)]
    assert first == [generate_npi(random.Random(7)) for _ in range(3)]
