"""Read-only database users for the tests that start an agent on PostgreSQL or MariaDB, as the docs prescribe.

The agent refuses a database user that can write (``agent/erp/privileges.py``); the servers' test accounts
(postgres, root) can, so tests give the agent a user that may only read the scratch database.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

READER = "oc_reader"


def _admin(url: str, statements: list[str]) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def read_only_user(url: str) -> str:
    """Creates (once per server) the read-only user, grants it SELECT on the database of ``url``; returns its URL.

    PostgreSQL: a login role with ``default_transaction_read_only`` and SELECT on every table of ``public``.
    MariaDB: a user with SELECT on the database only.
    """
    u = sa.make_url(url)
    if u.get_backend_name() == "postgresql":
        # Roles are per server and other test runs may create it at the same moment: tolerate "already exists".
        with contextlib.suppress(sa.exc.ProgrammingError, sa.exc.IntegrityError):
            _admin(url, [f"CREATE ROLE {READER} LOGIN"])
        _admin(
            url,
            [
                f"ALTER ROLE {READER} SET default_transaction_read_only = on",
                f'GRANT CONNECT ON DATABASE "{u.database}" TO {READER}',
                f"GRANT USAGE ON SCHEMA public TO {READER}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}",
            ],
        )
    else:
        statements = []
        for host in ("%", "localhost"):
            statements += [
                f"CREATE USER IF NOT EXISTS '{READER}'@'{host}'",
                f"GRANT SELECT ON `{u.database}`.* TO '{READER}'@'{host}'",
            ]
        _admin(url, statements)
    return u.set(username=READER, password=None).render_as_string(hide_password=False)
