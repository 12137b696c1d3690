"""Text normalisation for screening that keeps a map back to the caller's original characters."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Length-preserving character folding, so offsets stay trivial before the word pass.
_FOLD = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "\t": " ",
        "\n": " ",
        "\r": " ",
        "\u00a0": " ",
    }
)

# "replacement: spellings" per line; kept as text so the table stays readable
_WORD_TABLE = """
can not: can't cant cannot
will not: won't wont
do not: don't dont
does not: doesn't doesnt
did not: didn't didnt
is not: isn't isnt ain't
are not: aren't arent
was not: wasn't wasnt
were not: weren't werent
have not: haven't havent
has not: hasn't hasnt
had not: hadn't hadnt
could not: couldn't couldnt
would not: wouldn't wouldnt
should not: shouldn't shouldnt
i am: i'm im
i have: i've ive
i will: i'll
it is: it's its
he is: he's hes
she is: she's shes
that is: that's thats
there is: there's theres
what is: what's whats
going to: gonna
want to: wanna
got to: gotta
you: u
your: ur
please: pls plz
a lot: alot
through: thru
though: tho
about: abt
hour: hr
hours: hrs
minutes: min mins
week: wk
weeks: wks
month: mo
months: mos
year: yr
years: yrs
"""
_WORD_SUBS = {
    spelling: target
    for line in _WORD_TABLE.strip().splitlines()
    for target, spellings in [line.split(": ")]
    for spelling in spellings.split()
}
_SYMBOL_SUBS = {"w/": "with", "w/o": "without", "b/c": "because", "y/o": "year old", "&": "and", "+": "and"}

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    " seventeen eighteen nineteen"
)
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_UNITS = {
    **{w: i for i, w in enumerate(_ONES.split())},
    **{w: 10 * i for i, w in enumerate(_TENS.split(), start=2)},
    "oh": 0,
}
_DIGIT_WORDS = {w for w, v in _UNITS.items() if v < 10}
_NUMW = (
    "(?:" + "|".join(sorted((w for w in _UNITS if w != "oh"), key=len, reverse=True)) + "|hundred|thousand)"
)
_NUM_RUN = (
    rf"(?<![\w'])(?:a (?=hundred|thousand))?{_NUMW}"
    rf"(?:[ -](?:{_NUMW}|oh(?=[ -]{_NUMW})|oh\b|point(?= (?:{_NUMW}|oh))|and(?= {_NUMW})))*(?![\w'])"
)
_WORD_KEYS = "|".join(re.escape(k) for k in sorted(_WORD_SUBS, key=len, reverse=True))
_SUBS = re.compile(
    rf"(?P<ws>\s{{2,}})|(?P<hyph>(?<=[a-z0-9])-(?=[a-z0-9]))"
    rf"|(?P<word>(?<![\w'])(?:{_WORD_KEYS})(?![\w']))|(?P<num>{_NUM_RUN})"
    r"|(?P<sym>(?<!\w)(?:w/o|w/|b/c|y/o)|[&+])"
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, for every normalised character, the original span it came from."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) covering normalised characters [start, end)."""
        if end <= start:
            return self.starts[start], self.starts[start]
        return self.starts[start], self.ends[end - 1]


def _fold_lower(text: str) -> str:
    folded = text.translate(_FOLD)
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # a few characters (e.g. dotted capital I) lower into two: keep those as they are
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


def normalize(text: str) -> Normalized:
    """Lower-case, fold quotes, expand contractions and number words; keep the offset map."""
    low = _fold_lower(text)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _SUBS.finditer(low):
        replacement = _replacement(m)
        if replacement is None:
            continue
        _copy(low, pos, m.start(), out, starts, ends)
        out.append(replacement)
        starts.extend([m.start()] * len(replacement))
        ends.extend([m.end()] * len(replacement))
        pos = m.end()
    _copy(low, pos, len(low), out, starts, ends)
    return Normalized(text, "".join(out), tuple(starts), tuple(ends))


def _copy(low: str, start: int, end: int, out: list[str], starts: list[int], ends: list[int]) -> None:
    out.append(low[start:end])
    starts.extend(range(start, end))
    ends.extend(range(start + 1, end + 1))


def _replacement(m: re.Match[str]) -> str | None:
    group = m.lastgroup
    if group in ("ws", "hyph"):
        return " "
    if group == "word":
        return _WORD_SUBS[m.group()]
    if group == "sym":
        # pad with spaces so "w/chills" and "a&e" still split into words
        before = " " if m.start() > 0 and not m.string[m.start() - 1].isspace() else ""
        after = " " if m.end() < len(m.string) and not m.string[m.end()].isspace() else ""
        return f"{before}{_SYMBOL_SUBS[m.group()]}{after}"
    return words_to_number(m.group())


def words_to_number(phrase: str) -> str | None:
    """'a hundred and four' -> '104', 'one oh two point five' -> '102.5'; a lone 'one' stays a word."""
    tokens = [t for t in re.split(r"[ -]+", phrase) if t and t != "and"]
    if tokens == ["one"]:
        return None
    tokens = ["one" if t == "a" else t for t in tokens]
    if "point" in tokens:
        cut = tokens.index("point")
        whole, decimals = tokens[:cut], tokens[cut + 1 :]
        return f"{_integer(whole) if whole else '0'}.{''.join(str(_UNITS.get(t, 0)) for t in decimals)}"
    return _integer(tokens)


def _integer(tokens: list[str]) -> str:
    # spoken digit by digit ("one oh two") when every token is a single digit
    if len(tokens) >= 2 and all(t in _DIGIT_WORDS for t in tokens):
        return "".join(str(_UNITS[t]) for t in tokens)
    total, current = 0, 0
    for t in tokens:
        if t == "hundred":
            current = max(current, 1) * 100
        elif t == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            current += _UNITS[t]
    return str(total + current)
