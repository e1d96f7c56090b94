"""
django-auth-ldap's settings (``AUTH_LDAP_*``) from ours (``LDAP_*``, README "Hospital sign-in").

Imported by ``config/settings.py`` before any app is loaded, so it imports nothing of Django's
models: only python-ldap and django-auth-ldap's ``config`` module (safe in settings, says its
docstring). The tests call it too, with the address of the slapd they start.
"""

import ldap
from django_auth_ldap.config import (
    ActiveDirectoryGroupType,
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPSearch,
    NestedActiveDirectoryGroupType,
    PosixGroupType,
)

GROUP_TYPES = {
    "groupOfNames": GroupOfNamesType,
    "groupOfUniqueNames": GroupOfUniqueNamesType,
    "posix": PosixGroupType,
    "activeDirectory": ActiveDirectoryGroupType,
    "nestedActiveDirectory": NestedActiveDirectoryGroupType,
}


def connection_options(values: dict) -> dict:
    """python-ldap options for every connection: certificate checking, timeouts, no referrals (AD)."""
    options = {
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_NETWORK_TIMEOUT: values["LDAP_TIMEOUT"],
        ldap.OPT_TIMEOUT: values["LDAP_TIMEOUT"],
        ldap.OPT_X_TLS_REQUIRE_CERT: ldap.OPT_X_TLS_DEMAND,
    }
    if values.get("LDAP_CA_FILE"):
        options[ldap.OPT_X_TLS_CACERTFILE] = values["LDAP_CA_FILE"]
    # Must come last: it applies the TLS options above to this connection (python-ldap docs).
    options[ldap.OPT_X_TLS_NEWCTX] = 0
    return options


def auth_ldap_settings(values: dict) -> dict:
    """The ``AUTH_LDAP_*`` settings for the ``LDAP_*`` ones in ``values`` (a settings namespace)."""
    group_type = values["LDAP_GROUP_TYPE"]
    if group_type not in GROUP_TYPES:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LDAP_GROUP_TYPE must be one of {', '.join(GROUP_TYPES)}.")
    attributes = ["*", values["LDAP_SUBJECT_ATTRIBUTE"]]
    return {
        "AUTH_LDAP_SERVER_URI": values["LDAP_SERVER_URI"],
        "AUTH_LDAP_START_TLS": values["LDAP_START_TLS"],
        "AUTH_LDAP_CONNECTION_OPTIONS": connection_options(values),
        "AUTH_LDAP_BIND_DN": values["LDAP_BIND_DN"],
        "AUTH_LDAP_BIND_PASSWORD": values["LDAP_BIND_PASSWORD"],
        # Every user attribute plus the (operational, on OpenLDAP) stable identifier.
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(
            values["LDAP_USER_SEARCH_BASE"], ldap.SCOPE_SUBTREE, values["LDAP_USER_FILTER"], attrlist=attributes
        ),
        "AUTH_LDAP_USER_ATTRLIST": attributes,
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(
            values["LDAP_GROUP_SEARCH_BASE"] or values["LDAP_USER_SEARCH_BASE"],
            ldap.SCOPE_SUBTREE,
            values["LDAP_GROUP_FILTER"],
        ),
        "AUTH_LDAP_GROUP_TYPE": GROUP_TYPES[group_type](),
        # accounts.sso fills the account and its roles; the library only checks the password
        # and lists the groups (fresh at every sign-in: no group cache).
        "AUTH_LDAP_USER_ATTR_MAP": {},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": False,
        "AUTH_LDAP_MIRROR_GROUPS": False,
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_REFRESH_DN_ON_BIND": False,
    }
