"""ISO 639-1 language codes: what a patient's preferred language may be, and names to show."""

from __future__ import annotations

from careline.directory.reference import LANGUAGES  # every ISO 639-1 code with its English name

# The languages a Chicago-area call center hears most, first in the registration form's list.
COMMON = ["en", "es", "pl", "zh", "ar", "tl", "ko", "ru", "vi", "hi", "ur", "uk", "el", "it", "fr", "de"]


def language_name(code: str | None) -> str:
    """'es' -> 'Spanish'; the code itself when unknown."""
    return LANGUAGES.get(code or "", code or "")


def choices() -> list[tuple[str, str]]:
    """(code, name) pairs for a select: the common ones first, then the rest by name."""
    rest = sorted((c for c in LANGUAGES if c not in COMMON), key=lambda c: LANGUAGES[c])
    return [(c, LANGUAGES[c]) for c in COMMON + rest]
