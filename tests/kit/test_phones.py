"""Tests for phone normalization, display and search keys."""

from __future__ import annotations

import phonenumbers
import pytest

from careline.kit.phones import format_phone, normalize_phone, phone_search_keys


@pytest.mark.parametrize(
    "raw",
    ["(312) 555-0142", "312.555.0142", "+1 312 555 0142", "3125550142", "1-312-555-0142", " 312-555-0142 "],
)
def test_common_us_formats_give_the_same_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+13125550142"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("555-1234", "include the area code"),
        ("000-000-0000", "not a valid"),
        ("(123) 456-7890", "not a valid"),
        ("(312) 555-014", "not a valid"),
        ("(312) 555-01423", "not a valid"),
        ("hello", "did not seem to be a phone number"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_junk_is_rejected_with_a_message_naming_the_value(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as excinfo:
        normalize_phone(raw)
    assert repr(raw) in str(excinfo.value)


def test_extensions_are_not_silently_dropped() -> None:
    with pytest.raises(ValueError, match="extension"):
        normalize_phone("312-555-0142 x12")


@pytest.mark.parametrize("area_code", ["212", "312", "415", "617", "713", "773", "202", "907", "808"])
def test_fictional_555_01xx_numbers_are_accepted(area_code: str) -> None:
    # The demo data uses 555-0100..555-0199, which phonenumbers' metadata counts as valid.
    for line in range(100, 200):
        raw = f"({area_code}) 555-0{line}"
        assert normalize_phone(raw) == f"+1{area_code}5550{line}"


def test_possible_is_not_enough() -> None:
    # is_possible_number only checks length; the rule is the stricter is_valid_number.
    junk = phonenumbers.parse("000-000-0000", "US")
    assert phonenumbers.is_possible_number(junk) and not phonenumbers.is_valid_number(junk)


def test_other_regions() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


def test_format_phone() -> None:
    assert format_phone("+13125550142") == "(312) 555-0142"
    assert format_phone("+442079460958") == "+44 20 7946 0958"


def test_format_phone_round_trips_through_normalize() -> None:
    assert normalize_phone(format_phone("+16175550199")) == "+16175550199"


def test_format_phone_rejects_junk() -> None:
    with pytest.raises(ValueError, match="invalid phone number"):
        format_phone("not a number")


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        ("3125550142", ["+13125550142"]),
        ("13125550142", ["+13125550142"]),
        ("(312) 555-0142 ext. 7", ["+13125550142"]),
        ("312-555-0142 x7", ["+13125550142"]),
        ("tel:+1-312-555-0142", ["+13125550142"]),
        ("442079460958", ["+442079460958"]),
        ("011 44 20 7946 0958", ["+442079460958"]),
        ("555-0142", []),
        ("0142", []),
        ("", []),
        ("no digits", []),
    ],
)
def test_phone_search_keys(raw: str, keys: list[str]) -> None:
    assert phone_search_keys(raw) == keys
