"""
Template filters for search results: ``highlight`` marks the matched words in a text and
``excerpt`` cuts a long description down to the part around the first match.

Both take the terms to look for as a list of strings (or one string of words). Matching is
case-insensitive containment, like the search itself; every piece of the text is escaped
before it reaches the page, so a title holding HTML stays text.
"""

import re
from functools import lru_cache

from django import template
from django.utils.html import escape, format_html_join

register = template.Library()

# Tailwind scans this module (theme/static_src/src/styles.css), so these classes get built.
MARK_CLASS = "rounded-sm bg-amber-200 px-0.5 text-inherit dark:bg-amber-400/30 dark:text-white"
_MARKED = '{}<mark class="' + MARK_CLASS + '">{}</mark>'
EXCERPT_CHARS = 200
_MAX_TERMS = 20


def _clean(terms) -> tuple[str, ...]:
    if not terms:
        return ()
    if isinstance(terms, str):
        terms = terms.split()
    unique = {str(term).strip().lower()[:100] for term in terms}
    # Longest first, so "laparoscopic" wins over "lap" where both match at one place.
    return tuple(sorted((term for term in unique if term), key=lambda term: (-len(term), term))[:_MAX_TERMS])


@lru_cache(maxsize=256)
def _compiled(terms: tuple[str, ...]) -> re.Pattern | None:
    if not terms:
        return None
    return re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)


def _pattern(terms) -> re.Pattern | None:
    return _compiled(_clean(terms))


@register.filter
def highlight(text, terms):
    """``text`` escaped, with each case-insensitive match of a term wrapped in ``<mark>``."""
    text = "" if text is None else str(text)
    pattern = _pattern(terms)
    if pattern is None:
        return escape(text)
    # Split the raw text and let format_html_join escape each piece: matching after
    # escaping would find terms inside entities ("amp" in "&amp;") and break them.
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append((text[last : match.start()], match.group()))
        last = match.end()
    return format_html_join("", _MARKED, pieces) + escape(text[last:])


@register.filter
def excerpt(text, terms):
    """
    About 200 characters of ``text`` (whitespace collapsed) around the first match of a term,
    cut at word boundaries and marked with "…" where shortened. Plain text: escape or
    ``highlight`` it in the template.
    """
    text = " ".join(str(text or "").split())
    if len(text) <= EXCERPT_CHARS:
        return text
    pattern = _pattern(terms)
    match = pattern.search(text) if pattern else None
    # Some context before the match, the rest after it.
    start = max(0, match.start() - EXCERPT_CHARS // 3) if match else 0
    end = min(len(text), start + EXCERPT_CHARS)
    start = max(0, end - EXCERPT_CHARS)
    if start > 0:
        space = text.find(" ", start, match.start() if match else end)
        if space != -1:
            start = space + 1
    if end < len(text):
        space = text.rfind(" ", match.end() if match else start, end)
        if space > start:
            end = space
    return ("… " if start > 0 else "") + text[start:end].strip() + (" …" if end < len(text) else "")
