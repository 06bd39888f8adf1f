"""Is the agent's database user read-only? Checked by privilege, not by trusting the statements.

The rollback and the read-only transactions of :mod:`.db` stop writes only where the database honours them; a
function that writes through ``SECURITY DEFINER``, ``setval``, a MariaDB stored function on an Aria table get past
them with a privileged user. A user that is not allowed to write is the real guarantee, so ``check`` and the
agent's start verify it and the agent refuses to start with a user that can write, unless the configuration says
``allow_writable_user = true`` (then it warns at every start):

* PostgreSQL: no INSERT, UPDATE, DELETE or TRUNCATE on any table or view outside the system schemas, no USAGE or
  UPDATE on any sequence (``nextval``/``setval``), not a superuser, and ``default_transaction_read_only`` on for
  the user (the value a session starts with, not the agent's own session setting);
* MariaDB/MySQL: ``SHOW GRANTS`` holds nothing but SELECT, SHOW VIEW and USAGE (EXECUTE would run stored routines
  with their definer's rights);
* SQLite: the file is opened read-only (``mode=ro``) or the session is ``query_only`` (plain ODBC);
* any other database (plain ODBC to Advantage, MS SQL Server): the driver offers no portable question, so the
  privileges are *unverified*: a warning names the manual step (``docs/erp-databases.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import structlog

from onlineconnect.errors import ConfigError

from .db import Database, OdbcDatabase, SqlAlchemyDatabase, dbms_kind

log = structlog.get_logger(__name__)

MAX_FINDINGS = 8

_PG_WRITABLE = """
SELECT 'superuser ' || r.rolname AS what FROM pg_roles r WHERE r.rolname = current_user AND r.rolsuper
UNION ALL
SELECT * FROM (
  SELECT p.priv || ' on table ' || n.nspname || '.' || c.relname AS what
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p (priv)
  WHERE c.relkind IN ('r', 'p', 'v', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND left(n.nspname, 8) <> 'pg_toast'
    AND has_table_privilege(c.oid, p.priv)
  UNION ALL
  SELECT p.priv || ' on sequence ' || n.nspname || '.' || c.relname AS what
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN (VALUES ('USAGE'), ('UPDATE')) AS p (priv)
  WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND has_sequence_privilege(c.oid, p.priv)
) AS w
UNION ALL
SELECT 'default_transaction_read_only is off for user ' || current_user AS what
FROM pg_settings WHERE name = 'default_transaction_read_only' AND reset_val <> 'on'
"""
# Privileges a read-only MariaDB/MySQL user may hold.
_MYSQL_READ = frozenset({"SELECT", "SHOW VIEW", "USAGE", "SHOW DATABASES"})
_GRANT = re.compile(r"^GRANT\s+(.*?)\s+ON\s+(.*?)\s+TO\s", re.IGNORECASE | re.DOTALL)


@dataclass
class Privileges:
    """What the agent's database user may change.

    Attributes:
        verified: False when the database offers no way to tell (the manual step applies).
        writable: What the user can change ("INSERT on table public.orders"); empty when read-only.
        how: How it was verified, or why it could not be.
    """

    verified: bool
    how: str
    writable: list[str] = field(default_factory=list)

    @property
    def read_only(self) -> bool:
        """True when verified and nothing is writable."""
        return self.verified and not self.writable


def _kind(db: Database) -> str:
    if isinstance(db, SqlAlchemyDatabase):
        return dbms_kind(db.dialect)
    if isinstance(db, OdbcDatabase):
        if not db.dbms:
            db.ping()  # the DBMS is known once connected
        return db.dbms
    return ""


def inspect_privileges(db: Database) -> Privileges:
    """Asks the database what the agent's user may change.

    Raises:
        OnlineConnectError: the database cannot be reached or refuses the catalogue query.
    """
    kind = _kind(db)
    if not isinstance(db, SqlAlchemyDatabase | OdbcDatabase):
        return Privileges(False, "not a database the agent can ask")
    if kind == "postgresql":
        rows = db.sample(_PG_WRITABLE, {}, limit=MAX_FINDINGS + 1)
        return Privileges(True, "PostgreSQL catalogue (table and sequence privileges)", [str(r["what"]) for r in rows])
    if kind in {"mariadb", "mysql"}:
        return Privileges(True, "SHOW GRANTS", _mysql_writable(db.sample("SHOW GRANTS", {})))
    if kind == "sqlite":
        if isinstance(db, SqlAlchemyDatabase):
            if db.url.query.get("mode") == "ro" or db.url.database in (None, "", ":memory:"):
                return Privileges(True, "SQLite file opened read-only (mode=ro)")
            return Privileges(True, "SQLite file", ["the file is not opened with mode=ro"])
        return Privileges(True, "SQLite session with PRAGMA query_only (ODBC)")
    return Privileges(False, f"{kind or 'this database'} offers the agent no portable way to list a user's privileges")


def _mysql_writable(rows: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for row in rows:
        grant = str(next(iter(row.values())))
        m = _GRANT.match(grant)
        if m is None:
            # "GRANT `role` TO `user`": a role whose privileges are not listed here.
            role = grant.split(" TO ")[0].removeprefix("GRANT ").strip()
            out.append(f"role {role} (its privileges are not checked; grant SELECT directly instead)")
            continue
        privs, target = m.group(1), m.group(2)
        # Column privileges "SELECT (a, b)" carry commas inside parentheses.
        names = [p.strip().upper() for p in re.sub(r"\([^)]*\)", "", privs).split(",")]
        for name in names:
            if name and name not in _MYSQL_READ:
                out.append(f"{name} on {target}")
        if "WITH GRANT OPTION" in grant.upper():
            out.append(f"GRANT OPTION on {target}")
    return out[: MAX_FINDINGS + 1]


def describe(p: Privileges) -> str:
    """One line listing what the user can change (at most MAX_FINDINGS items)."""
    items = p.writable[:MAX_FINDINGS]
    more = ", …" if len(p.writable) > MAX_FINDINGS else ""
    return ", ".join(items) + more


def ensure_read_only(db: Database, *, allow_writable_user: bool = False) -> Privileges:
    """Refuses a database user that can write, unless allowed; logs what it found.

    Logs ``database.writable_user`` (a warning, at every start) when the user can write and that is allowed, and
    ``database.privileges_unverified`` when the database cannot tell.

    Raises:
        ConfigError: the user can write and ``allow_writable_user`` is not set.
    """
    p = inspect_privileges(db)
    if not p.verified:
        log.warning(
            "database.privileges_unverified",
            why=p.how,
            fix="make sure the agent's database user can only read (docs/erp-databases.md, a read-only user)",
        )
    elif p.writable and allow_writable_user:
        log.warning(
            "database.writable_user",
            can=describe(p),
            hint="database.allow_writable_user = true: the agent's user can change the ERP; give it a read-only user",
        )
    elif p.writable:
        raise ConfigError(
            f"the database user can write ({describe(p)}); give the agent a read-only user "
            "(docs/erp-databases.md, 'A read-only database user') or set database.allow_writable_user = true"
        )
    return p
