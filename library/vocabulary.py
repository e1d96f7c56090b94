"""
Typo tolerance where the database has none (SQLite; issue #15). PostgreSQL forgives typos
itself (pg_trgm in library.search); elsewhere a query word the catalogue does not know is
matched against the catalogue's own words with RapidFuzz, and the closest one (if close
enough) is searched for as well: "laparoscpic" also finds "laparoscopic", and the page and the
API say "Showing results for laparoscopic".

The vocabulary is the words of published videos' titles and of the tag, surgeon and category
names (``Video.search_terms``): what people look for by name, never a word that only an
unpublished case or a transcript holds. It is built once per process and rebuilt when its
token in the shared cache expires (``VOCABULARY_SECONDS``) or the cache is cleared, so a new
word becomes correctable within minutes. A word that is known, or begins a known word (typing
in progress), is left alone.
"""

import bisect
import re
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from rapidfuzz import fuzz, process

from videos.models import Video

VOCABULARY_CACHE_KEY = "library:search:vocabulary:v1"
VOCABULARY_SECONDS = 300
MIN_LENGTH = 4  # shorter words have too many neighbours to guess from
SCORE_CUTOFF = 80  # RapidFuzz ratio (0-100): one or two letters wrong, swapped or missing in a long word
_WORD = re.compile(rf"[^\W\d_]{{{MIN_LENGTH},}}")


@dataclass(frozen=True)
class Vocabulary:
    token: str
    words: frozenset[str]
    ordered: tuple[str, ...]  # sorted, for the prefix test

    def knows(self, word: str) -> bool:
        """``word`` is a catalogue word, or the start of one."""
        if word in self.words:
            return True
        i = bisect.bisect_left(self.ordered, word)
        return i < len(self.ordered) and self.ordered[i].startswith(word)

    def closest(self, word: str) -> str | None:
        found = process.extractOne(word, self.ordered, scorer=fuzz.ratio, score_cutoff=SCORE_CUTOFF)
        return found[0] if found else None


_current: Vocabulary | None = None


def _build(token: str) -> Vocabulary:
    words: set[str] = set()
    for title, terms in Video.objects.published().values_list("title", "search_terms").iterator(chunk_size=5000):
        words.update(_WORD.findall(f"{title} {terms}".lower()))
    return Vocabulary(token=token, words=frozenset(words), ordered=tuple(sorted(words)))


def vocabulary() -> Vocabulary:
    """The catalogue's words, as of the token in the shared cache."""
    global _current
    token = cache.get(VOCABULARY_CACHE_KEY)
    if token is None or _current is None or _current.token != token:
        token = token or uuid.uuid4().hex
        _current = _build(token)
        cache.set(VOCABULARY_CACHE_KEY, token, VOCABULARY_SECONDS)
    return _current


def corrections(units: list[tuple[str, ...]]) -> dict[str, str]:
    """``{typed word: catalogue word}`` for each one-word unit of a query the catalogue does not know."""
    candidates = [unit[0] for unit in units if len(unit) == 1 and " " not in unit[0] and _WORD.fullmatch(unit[0])]
    if not candidates:
        return {}
    known = vocabulary()
    found = {}
    for word in candidates:
        if not known.knows(word) and (closest := known.closest(word)):
            found[word] = closest
    return found


def expand(units: list[tuple[str, ...]], corrected: dict[str, str]) -> list[tuple[str, ...]]:
    """``units`` with each corrected word's catalogue word as one more alternative."""
    return [(*unit, corrected[unit[0]]) if unit[0] in corrected else unit for unit in units]


def as_searched(q: str, corrected: dict[str, str]) -> str:
    """The query with its corrected words replaced ("" when none was)."""
    if not corrected:
        return ""
    return re.sub(r"\w+", lambda match: corrected.get(match.group(0).lower(), match.group(0)), q)
