"""Every URL pattern of the project, walked from the resolver (for tests that must cover them all)."""

from django.urls import URLPattern, URLResolver, get_resolver


def _walk(resolver=None, prefix="", namespaces=()):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            spaces = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            yield from _walk(pattern, prefix + str(pattern.pattern), spaces)
        elif isinstance(pattern, URLPattern):
            name = ":".join((*namespaces, pattern.name)) if pattern.name else ""
            yield prefix + str(pattern.pattern), name, pattern


def routes():
    """Every URL pattern as (route, name, pattern)."""
    return list(_walk())
