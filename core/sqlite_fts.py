"""
SQLite FTS5 indexes over a table's text columns (external content, trigram tokenizer), kept in
step by triggers. videos.search_index (``video_fts``) and teaching.search (``teaching_cue_fts``)
each declare one; library.search and teaching.search read them.

The trigram tokenizer matches substrings, as the ``icontains`` fallback does, but from an index;
it needs SQLite 3.34 with FTS5, and terms of three letters or more. Django rebuilds a SQLite
table when a migration alters it, which drops its triggers, so ``ensure`` runs after every
migrate (connect ``on_post_migrate`` in the app's ``ready``) rather than once in a migration.
"""

import re

from django.db.models.expressions import RawSQL

TRIGRAM = 3  # the shortest term the trigram tokenizer indexes
# The SQL below is built from these names (identifiers cannot be bound): only plain ones are taken.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class SqliteFts5Index:
    """
    The FTS5 table ``name`` over ``columns`` of ``table`` (rowid = ``table.id``), with its
    insert, delete and update triggers. Whether it is in place is cached on the connection in
    ``cache_attribute``; set that to ``None`` to check again.
    """

    def __init__(self, *, name: str, table: str, columns: tuple[str, ...], cache_attribute: str = ""):
        for identifier in (name, table, *columns):
            if not _IDENTIFIER.fullmatch(identifier):
                raise ValueError(f"Not a plain SQL identifier: {identifier!r}")
        self.name = name
        self.table = table
        self.columns = tuple(columns)
        self.cache_attribute = cache_attribute or f"_svl_{name}_ready"

    # ---------------------------------------------------------------------------- the SQL
    def _create_sql(self) -> str:
        return (
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.name} USING fts5({', '.join(self.columns)}, "
            f"content='{self.table}', content_rowid='id', tokenize='trigram')"
        )

    def _add(self, row: str) -> str:
        names = ", ".join(self.columns)
        values = ", ".join(f"{row}.{column}" for column in self.columns)
        return f"INSERT INTO {self.name}(rowid, {names}) VALUES ({row}.id, {values});"  # noqa: S608 (identifiers)

    def _remove(self, row: str) -> str:
        names = ", ".join(self.columns)
        values = ", ".join(f"{row}.{column}" for column in self.columns)
        return f"INSERT INTO {self.name}({self.name}, rowid, {names}) VALUES ('delete', {row}.id, {values});"  # noqa: S608

    def triggers(self) -> dict[str, str]:
        """``{trigger name: CREATE TRIGGER statement}``."""
        name, table = self.name, self.table
        return {
            f"{name}_insert": f"CREATE TRIGGER IF NOT EXISTS {name}_insert AFTER INSERT ON {table} BEGIN "
            f"{self._add('new')} END",
            f"{name}_delete": f"CREATE TRIGGER IF NOT EXISTS {name}_delete AFTER DELETE ON {table} BEGIN "
            f"{self._remove('old')} END",
            f"{name}_update": f"CREATE TRIGGER IF NOT EXISTS {name}_update "
            f"AFTER UPDATE OF {', '.join(self.columns)} ON {table} BEGIN {self._remove('old')} {self._add('new')} END",
        }

    # ---------------------------------------------------------------------- in place or not
    def ready(self, connection) -> bool:
        """Whether the index and its triggers are in place (cached per connection)."""
        ready = getattr(connection, self.cache_attribute, None)
        if ready is None:
            names = [self.name, *self.triggers()]
            with connection.cursor() as cursor:
                placeholders = ", ".join(["%s"] * len(names))
                cursor.execute(f"SELECT count(*) FROM sqlite_master WHERE name IN ({placeholders})", names)  # noqa: S608
                ready = cursor.fetchone()[0] == len(names)
            setattr(connection, self.cache_attribute, ready)
        return ready

    def ensure(self, connection) -> bool:
        """Create the index and its triggers where missing, and refill it then. SQLite only."""
        if connection.vendor != "sqlite":
            return False
        setattr(connection, self.cache_attribute, None)
        if self.ready(connection):
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [self.table])
            if not cursor.fetchone()[0]:  # migrated back to before its table: made on the way forward
                setattr(connection, self.cache_attribute, False)
                return False
            try:
                cursor.execute(self._create_sql())
            except Exception:  # an SQLite built without FTS5 (or older than 3.34): callers fall back to LIKE
                setattr(connection, self.cache_attribute, False)
                return False
            for statement in self.triggers().values():
                cursor.execute(statement)
            cursor.execute(f"INSERT INTO {self.name}({self.name}) VALUES ('rebuild')")  # noqa: S608 (identifiers)
        setattr(connection, self.cache_attribute, None)
        return self.ready(connection)

    def on_post_migrate(self, sender, using="default", **kwargs):
        """A ``post_migrate`` receiver: ``ensure`` on the database just migrated."""
        from django.db import connections

        self.ensure(connections[using])

    # ------------------------------------------------------------------------------ reading
    def usable_for(self, connection, terms) -> bool:
        """Whether a search for any of ``terms`` can read the index: SQLite, in place, no term under three letters."""
        return connection.vendor == "sqlite" and self.ready(connection) and all(len(term) >= TRIGRAM for term in terms)

    def matching_rowids(self, terms) -> RawSQL:
        """``SELECT rowid …``: the rows containing any of ``terms`` (each a phrase), for ``pk__in``."""
        expression = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        sql = f"SELECT rowid FROM {self.name} WHERE {self.name} MATCH %s"  # noqa: S608 (identifiers; the terms are bound)
        return RawSQL(sql, [expression])  # noqa: S611
