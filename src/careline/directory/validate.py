"""Field checks shared by the directory's services and its CSV import; each error names its field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from careline.directory import reference, rules
from careline.directory.models import Gender
from careline.errors import ValidationFailed
from careline.kit import geo, npi, phones
from careline.kit.timeutil import get_zone

SHORT_CODES = {"211", "311", "411", "511", "611", "711", "811", "911", "988"}
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def text(value: object, field: str, *, max_len: int, required: bool = False) -> str:
    """Stripped text; ValidationFailed when required and blank, or too long."""
    out = "" if value is None else str(value).strip()
    if required and not out:
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    if len(out) > max_len:
        raise ValidationFailed(f"{field.replace('_', ' ')} is longer than {max_len} characters", field=field)
    return out


def optional_text(value: object, field: str, *, max_len: int) -> str | None:
    """Stripped text, or None when blank."""
    return text(value, field, max_len=max_len) or None


def phone(value: object, field: str = "phone", *, required: bool = False) -> str | None:
    """A phone number in E.164 ('+13125550142'); None when blank and optional."""
    raw = "" if value is None else str(value).strip()
    if not raw:
        if required:
            raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
        return None
    try:
        return phones.normalize_phone(raw)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=field) from exc


def dialable(value: object, field: str = "phone") -> str | None:
    """E.164, or a US short code such as 911, 988 or 211 (outside resources)."""
    raw = "" if value is None else str(value).strip()
    if raw in SHORT_CODES:
        return raw
    return phone(raw, field)


def zip_code(value: object) -> geo.ZipInfo:
    """A known US ZIP with its place, coordinates and zone."""
    raw = "" if value is None else str(value)
    if not raw.strip():
        raise ValidationFailed("ZIP code is required", field="zip")
    try:
        return geo.require_zip(raw)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="zip") from exc


def npi_number(value: object) -> str:
    """A 10-digit NPI with a correct check digit."""
    try:
        return npi.require_npi("" if value is None else str(value))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="npi") from exc


def timezone(value: object, field: str = "timezone") -> str:
    """An IANA zone name such as America/Chicago."""
    name = "" if value is None else str(value).strip()
    try:
        get_zone(name)
    except ValueError as exc:
        raise ValidationFailed(f"unknown time zone '{name}'", field=field) from exc
    return name


def hours(value: object, field: str = "hours") -> dict:
    """Weekly hours as a dict, or the compact text form 'Mon-Fri 08:00-17:00; Sat 09:00-12:00'."""
    try:
        if isinstance(value, str):
            return rules.parse_hours_text(value)
        return rules.normalize_hours(value)
    except ValueError as exc:
        raise ValidationFailed(f"hours: {exc}", field=field) from exc


def specialties(codes: Iterable[object]) -> list[str]:
    """Known NUCC taxonomy codes, in order, without repeats (the first is the primary one)."""
    known = reference.specialties()
    out: list[str] = []
    for raw in codes:
        code = str(raw).strip().upper()
        if not code:
            continue
        if code not in known:
            raise ValidationFailed(f"unknown specialty (NUCC taxonomy code) '{raw}'", field="specialties")
        if code not in out:
            out.append(code)
    return out


def languages(codes: Iterable[object]) -> list[str]:
    """ISO 639-1 codes ('en', 'es'), lower case, without repeats; English names are accepted too."""
    by_name = {name.lower(): code for code, name in reference.LANGUAGES.items()}
    out: list[str] = []
    for raw in codes:
        value = str(raw).strip().lower()
        if not value:
            continue
        code = value if value in reference.LANGUAGES else by_name.get(value)
        if code is None:
            raise ValidationFailed(
                f"unknown language code '{raw}' (use ISO 639-1, e.g. en, es)", field="languages"
            )
        if code not in out:
            out.append(code)
    return out


def phrases(values: Iterable[object] | None, field: str, *, max_items: int = 60) -> list[str]:
    """Plain phrases, trimmed, lower-cased, de-duplicated."""
    out: list[str] = []
    for raw in values or []:
        value = " ".join(str(raw).split()).lower()
        if len(value) > 120:
            raise ValidationFailed(f"'{value[:30]}...' is longer than 120 characters", field=field)
        if value and value not in out:
            out.append(value)
    if len(out) > max_items:
        raise ValidationFailed(f"at most {max_items} entries", field=field)
    return out


def labels(values: Iterable[object] | None, field: str) -> list[str]:
    """Machine labels like 'billing' or 'test_results'."""
    out: list[str] = []
    for raw in values or []:
        value = str(raw).strip().lower()
        if not value:
            continue
        if not _LABEL.match(value):
            raise ValidationFailed(f"'{raw}' is not a label like 'billing' or 'test_results'", field=field)
        if value not in out:
            out.append(value)
    return out


def gender(value: object) -> Gender:
    """female, male, nonbinary or unknown."""
    raw = "unknown" if value in (None, "") else str(value).strip().lower()
    aliases = {
        "f": "female",
        "m": "male",
        "woman": "female",
        "man": "male",
        "non-binary": "nonbinary",
        "x": "nonbinary",
    }
    try:
        return Gender(aliases.get(raw, raw))
    except ValueError as exc:
        raise ValidationFailed("gender must be female, male, nonbinary or unknown", field="gender") from exc


def age(value: object, field: str) -> int | None:
    """An age in whole years (0-120), or None."""
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(f"{field.replace('_', ' ')} must be a whole number", field=field) from exc
    if not 0 <= number <= 120:
        raise ValidationFailed(f"{field.replace('_', ' ')} must be between 0 and 120", field=field)
    return number


def url(value: object, field: str = "url") -> str | None:
    """An http(s) address, or None."""
    raw = optional_text(value, field, max_len=300)
    if raw and not re.match(r"^https?://[^\s]+$", raw):
        raise ValidationFailed("a web address starts with https://", field=field)
    return raw


def closure_date(value: object, field: str = "date") -> date:
    """A calendar date 'YYYY-MM-DD'."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(f"'{value}' is not a date like 2026-12-25", field=field) from exc


def boolean(value: object, field: str) -> bool:
    """yes/no, true/false, 1/0, y/n."""
    if isinstance(value, bool):
        return value
    raw = str(value).strip().lower()
    if raw in ("yes", "y", "true", "t", "1"):
        return True
    if raw in ("no", "n", "false", "f", "0"):
        return False
    raise ValidationFailed(f"{field.replace('_', ' ')} must be yes or no", field=field)
