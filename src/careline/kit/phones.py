"""Phone number parsing, E.164 normalization and display formatting."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

# Validity rule: a number must pass phonenumbers.is_valid_number, not merely is_possible_number.
# is_possible_number only checks length, so it lets through junk such as "000-000-0000",
# "(123) 456-7890" and a bare 7-digit "555-1234". The stricter rule still accepts the fictional
# 555-0100..555-0199 lines the demo data uses: phonenumbers (9.x metadata) treats 555 as an
# ordinary exchange in every real area code, which tests/kit/test_phones.py pins down.

_NON_DIGITS = re.compile(r"[^0-9]", re.ASCII)


def normalize_phone(raw: str, region: str = "US") -> str:
    """Parse a phone number typed any common way and return it in E.164 form, e.g. '+13125550142'."""
    number = _parse(raw, region)
    if number.extension:
        raise ValueError(f"phone number {raw!r} has an extension; store the extension separately")
    if not phonenumbers.is_valid_number(number):
        short = number.country_code == 1 and len(str(number.national_number)) < 10
        hint = " (include the area code)" if short else ""
        raise ValueError(f"invalid phone number {raw!r}: not a valid, dialable number{hint}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Format an E.164 number for display: '(312) 555-0142' for US numbers, international otherwise."""
    number = _parse(e164, None)
    if number.country_code == 1:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def phone_search_keys(raw: str, region: str = "US") -> list[str]:
    """E.164 candidates a caller-typed fragment could mean, most likely first; empty if none."""
    text = raw.strip() if isinstance(raw, str) else ""
    digits = _NON_DIGITS.sub("", _strip_extension(text))
    if not digits:
        return []
    attempts = [text, _strip_extension(text)]
    if not text.startswith("+"):
        # Pasted digits may be a foreign number missing its '+', or a US one written with its '1'.
        attempts.append("+" + digits)
    keys: list[str] = []
    for attempt in attempts:
        try:
            key = normalize_phone(attempt, region)
        except ValueError:
            continue
        if key not in keys:
            keys.append(key)
    return keys


def _parse(raw: str | None, region: str | None) -> PhoneNumber:
    """phonenumbers.parse with its exceptions turned into a ValueError naming the input."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"invalid phone number {raw!r}: it is empty")
    try:
        return phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        reason = re.sub(r"^\(\d+\)\s*", "", str(exc)).rstrip(".")
        raise ValueError(f"invalid phone number {raw!r}: {reason}") from exc


def _strip_extension(text: str) -> str:
    """Drop a trailing extension ('x12', 'ext. 12', '#12') so the main line can still be found."""
    return re.split(r"(?i)\s*(?:#|x|ext\.?|extension)\s*[0-9]+\s*$", text, maxsplit=1)[0]
