"""Reference data the directory validates against: NUCC specialties, ISO 639-1 languages, intents.

Loaded once from the YAML files next to this module; pure lookups, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

AGE_GROUPS = ("pediatric", "adult", "geriatric")

# Department kinds the routing screens offer; any lower-case label is accepted.
DEPARTMENT_KINDS = (
    "scheduling",
    "nurse_line",
    "radiology",
    "lab",
    "billing",
    "medical_records",
    "pharmacy",
    "behavioral_health",
    "referrals",
    "patient_portal",
    "other",
)

# Intent labels (careline.contacts) a department or resource may serve.
KNOWN_INTENTS = (
    "schedule",
    "reschedule",
    "cancel",
    "find_doctor",
    "location_info",
    "refill",
    "test_results",
    "billing",
    "records",
    "clinical",
    "speak_to_staff",
    "insurance",
    "imaging",
    "lab",
    "emergency",
    "crisis",
    "poison",
    "out_of_scope",
)


@dataclass(frozen=True)
class Specialty:
    """One NUCC taxonomy code with the words people use for it."""

    code: str
    name: str
    plain: str
    synonyms: tuple[str, ...]
    age: str  # pediatric, adult or any
    group: str
    reasons: tuple[str, ...]


@cache
def specialties() -> dict[str, Specialty]:
    """Every known taxonomy code -> Specialty, in the file's order."""
    data = yaml.safe_load((HERE / "specialties.yaml").read_text(encoding="utf-8"))
    out: dict[str, Specialty] = {}
    for row in data["specialties"]:
        out[row["code"]] = Specialty(
            code=row["code"],
            name=row["name"],
            plain=row["plain"],
            synonyms=tuple(row.get("synonyms") or ()),
            age=row.get("age", "any"),
            group=row.get("group", "other"),
            reasons=tuple(row.get("reasons") or ()),
        )
    return out


def specialty_name(code: str) -> str:
    """'207RC0000X' -> 'cardiology'; the code itself when unknown."""
    spec = specialties().get(code)
    return spec.plain if spec else code


def codes_matching(term: str) -> list[str]:
    """Taxonomy codes whose code, name, plain name or a synonym contains `term` (case-insensitive)."""
    t = term.strip().lower()
    if not t:
        return []
    found = []
    for spec in specialties().values():
        words = [spec.code.lower(), spec.name.lower(), spec.plain.lower(), *spec.synonyms]
        if any(t in w for w in words):
            found.append(spec.code)
    return found


def resources_file() -> list[dict]:
    """The default outside resources every tenant starts with."""
    return list(yaml.safe_load((HERE / "resources.yaml").read_text(encoding="utf-8"))["resources"])


# Every ISO 639-1 code with its English name.
_ALL = """
aa Afar|ab Abkhazian|ae Avestan|af Afrikaans|ak Akan|am Amharic|an Aragonese|ar Arabic|as Assamese|av Avaric|
ay Aymara|az Azerbaijani|ba Bashkir|be Belarusian|bg Bulgarian|bi Bislama|bm Bambara|bn Bengali|bo Tibetan|
br Breton|bs Bosnian|ca Catalan|ce Chechen|ch Chamorro|co Corsican|cr Cree|cs Czech|cu Church Slavic|
cv Chuvash|cy Welsh|da Danish|de German|dv Dhivehi|dz Dzongkha|ee Ewe|el Greek|en English|eo Esperanto|
es Spanish|et Estonian|eu Basque|fa Persian|ff Fulah|fi Finnish|fj Fijian|fo Faroese|fr French|
fy Western Frisian|ga Irish|gd Scottish Gaelic|gl Galician|gn Guarani|gu Gujarati|gv Manx|ha Hausa|
he Hebrew|hi Hindi|ho Hiri Motu|hr Croatian|ht Haitian Creole|hu Hungarian|hy Armenian|hz Herero|
ia Interlingua|id Indonesian|ie Interlingue|ig Igbo|ii Sichuan Yi|ik Inupiaq|io Ido|is Icelandic|it Italian|
iu Inuktitut|ja Japanese|jv Javanese|ka Georgian|kg Kongo|ki Kikuyu|kj Kuanyama|kk Kazakh|kl Kalaallisut|
km Khmer|kn Kannada|ko Korean|kr Kanuri|ks Kashmiri|ku Kurdish|kv Komi|kw Cornish|ky Kyrgyz|la Latin|
lb Luxembourgish|lg Ganda|li Limburgish|ln Lingala|lo Lao|lt Lithuanian|lu Luba-Katanga|lv Latvian|
mg Malagasy|mh Marshallese|mi Maori|mk Macedonian|ml Malayalam|mn Mongolian|mr Marathi|ms Malay|mt Maltese|
my Burmese|na Nauru|nb Norwegian Bokmål|nd North Ndebele|ne Nepali|ng Ndonga|nl Dutch|nn Norwegian Nynorsk|
no Norwegian|nr South Ndebele|nv Navajo|ny Chichewa|oc Occitan|oj Ojibwa|om Oromo|or Odia|os Ossetian|
pa Punjabi|pi Pali|pl Polish|ps Pashto|pt Portuguese|qu Quechua|rm Romansh|rn Rundi|ro Romanian|ru Russian|
rw Kinyarwanda|sa Sanskrit|sc Sardinian|sd Sindhi|se Northern Sami|sg Sango|si Sinhala|sk Slovak|
sl Slovenian|sm Samoan|sn Shona|so Somali|sq Albanian|sr Serbian|ss Swati|st Southern Sotho|su Sundanese|
sv Swedish|sw Swahili|ta Tamil|te Telugu|tg Tajik|th Thai|ti Tigrinya|tk Turkmen|tl Tagalog|tn Tswana|
to Tonga|tr Turkish|ts Tsonga|tt Tatar|tw Twi|ty Tahitian|ug Uyghur|uk Ukrainian|ur Urdu|uz Uzbek|ve Venda|
vi Vietnamese|vo Volapük|wa Walloon|wo Wolof|xh Xhosa|yi Yiddish|yo Yoruba|za Zhuang|zh Chinese|zu Zulu
"""

LANGUAGES: dict[str, str] = dict(
    entry.strip().split(" ", 1) for entry in _ALL.replace("\n", "").split("|") if entry.strip()
)


def language_name(code: str) -> str:
    """'es' -> 'Spanish'; the code itself when unknown."""
    return LANGUAGES.get(code, code)
