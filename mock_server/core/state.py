"""The state file of ``serve --state FILE``: sessions, jobs, clocks, fault counters and a bounded
journal in SQLite, so that a restart (or a ``kill -9``) loses nothing that was answered.

One connection, held for the server's life in SQLite's exclusive locking mode: a second server on
the same file is refused (:class:`StateError`) instead of writing beside the first. The journal
is WAL with ``synchronous=NORMAL``: a transaction committed before an answer was sent survives
the process being killed (the operating system has it); a power cut may lose the last ones.

The file says what it is: ``PRAGMA application_id`` (:data:`APPLICATION_ID`) and ``PRAGMA
user_version`` (:data:`SCHEMA_VERSION`). An older version is migrated in place
(:data:`MIGRATIONS`); a newer one, a file of another program or a file that is not SQLite is an
error naming the file and the fix, and never wiped.

Tables, one row per thing, each a JSON record (:mod:`.state_records`)::

    sessions(name, record)   how the session was made: scenario text, settings, ttl
    engines(session, record) its clock's position and the engine's own state
    jobs(session, id, record, ended_at, bytes)
                                    one per job kept (rowid: the order they were started); a
                                    finished one's end and bytes (version 3): its record is
                                    read when the job is, not at start (:class:`StoredJob`)
    journal(session, seq, record)   the newest exchanges, as many as the journal keeps
    faults(session, record)         the fault counters and seeded draws (version 2)
    status_jobs(session, seq, record)  the companion status API's jobs kept (version 3)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jobstore import StoredJob
from .state_records import job_columns

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SavedSession", "StateError", "StateFile"]

#: "AEMG": marks a state file as this program's.
APPLICATION_ID = 0x41454D47
SCHEMA_VERSION = 3
#: The most bytes the write-ahead log keeps between checkpoints.
_WAL_BYTES = 1024 * 1024
_TABLES_V1 = """
CREATE TABLE sessions (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE engines (session TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE jobs (session TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (session, id));
CREATE TABLE journal (session TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
                      PRIMARY KEY (session, seq));
"""
#: From each version to the next: version 2 keeps the fault counters; version 3 a finished job's
#: end and bytes beside its record (filled in for the jobs kept before, :meth:`StateFile._columns`)
#: and the status API's jobs.
MIGRATIONS: dict[int, str] = {
    1: "CREATE TABLE faults (session TEXT PRIMARY KEY, record TEXT NOT NULL);",
    2: "ALTER TABLE jobs ADD COLUMN ended_at INTEGER; ALTER TABLE jobs ADD COLUMN bytes INTEGER; "
    "CREATE TABLE status_jobs (session TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL, "
    "PRIMARY KEY (session, seq));",
}
_OURS = {"sessions", "engines", "jobs", "journal", "faults", "status_jobs"}


class StateError(Exception):
    """The state file cannot be used: the message names the file and the fix."""


@dataclass(slots=True)
class SavedSession:
    """One session as the file keeps it; ``jobs`` oldest first, ``journal`` oldest first."""

    name: str
    made: dict[str, Any]
    live: dict[str, Any] | None = None
    jobs: list[dict[str, Any] | StoredJob] = field(default_factory=list)
    """Each job's record, or a finished job's :class:`StoredJob` (its record not read)."""
    journal: list[tuple[int, list[Any]]] = field(default_factory=list)
    faults: dict[str, Any] | None = None
    status_jobs: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """The status API's jobs, oldest first, each with its number."""


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class StateFile:
    """The open state file; every write is one transaction, committed before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fix = f"give --state another file, or move {path} away to start afresh"
        try:
            self._db = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise StateError(f"cannot open the state file {path}: {error}; {fix}") from None
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("BEGIN EXCLUSIVE")  # held from here on: the locking mode never lets it go
            self._check_and_migrate(fix)
            self._db.execute("COMMIT")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # the WAL is checkpointed every 256 pages and cut back to 1 MiB: the file's size is
            # bounded by its rows (the journal's, the jobs'), not by how many writes were made
            self._db.execute("PRAGMA wal_autocheckpoint=256")
            self._db.execute(f"PRAGMA journal_size_limit={_WAL_BYTES}")
        except sqlite3.OperationalError as error:
            self._db.close()
            if "locked" in str(error):
                raise StateError(f"the state file {path} is in use by another server (it holds the file's "
                                 "lock); stop that one, or give --state another file") from None  # fmt: skip
            raise StateError(f"the state file {path} cannot be used: {error}; {fix}") from None
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise StateError(f"the state file {path} is not a state file of aem-guides-mock, or it is "
                             f"damaged ({error}); {fix}") from None  # fmt: skip
        except StateError:
            self._db.close()
            raise

    def _check_and_migrate(self, fix: str) -> None:
        (app,) = self._db.execute("PRAGMA application_id").fetchone()
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app == 0 and not tables:  # a new (or empty) file: made here
            for statement in ";".join((_TABLES_V1, *MIGRATIONS.values())).split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            return
        if app != APPLICATION_ID:
            shown = ", ".join(sorted(tables)[:5]) or "none"
            raise StateError(f"the state file {self.path} is an SQLite file of another program (tables: "
                             f"{shown}); it was left as it is; {fix}")  # fmt: skip
        if version > SCHEMA_VERSION:
            raise StateError(f"the state file {self.path} was written by a newer aem-guides-mock (schema "
                             f"version {version}, this one reads up to {SCHEMA_VERSION}); upgrade, or "
                             f"{fix}")  # fmt: skip
        lacking = ", ".join(sorted(_OURS - {"faults", "status_jobs"} - tables))
        if lacking:
            raise StateError(f"the state file {self.path} lacks the tables {lacking}; it is damaged; {fix}")
        for step in range(max(version, 1), SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    self._db.execute(statement)
        if version < 3:
            self._columns()
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _columns(self) -> None:
        """Fill in each finished job's end and bytes, read once from its record (a migration to 3)."""
        filled = []
        for rowid, record in self._db.execute("SELECT rowid, record FROM jobs WHERE ended_at IS NULL"):
            ended_at, size = job_columns(json.loads(record))
            if ended_at is not None:
                filled.append((ended_at, size, rowid))
        self._db.executemany("UPDATE jobs SET ended_at = ?, bytes = ? WHERE rowid = ?", filled)

    def close(self) -> None:
        self._db.close()

    # --- reading
    def load(self) -> list[SavedSession]:
        """Every session kept, the default one among them."""
        found = {
            name: SavedSession(name, json.loads(record))
            for name, record in self._db.execute("SELECT name, record FROM sessions ORDER BY rowid")
        }
        for name, record in self._db.execute("SELECT session, record FROM engines"):
            if name in found:
                found[name].live = json.loads(record)
        rows = self._db.execute("SELECT session, id, ended_at, bytes, record FROM jobs ORDER BY rowid")
        for name, id_, ended_at, size, record in rows:
            if name not in found:
                continue
            if ended_at is None or size is None:
                found[name].jobs.append(json.loads(record))
            else:  # finished: read when the job is first asked for
                found[name].jobs.append(StoredJob(id_, ended_at, size, record))
        for name, seq, record in self._db.execute("SELECT session, seq, record FROM journal ORDER BY seq"):
            if name in found:
                found[name].journal.append((seq, json.loads(record)))
        for name, record in self._db.execute("SELECT session, record FROM faults"):
            if name in found:
                found[name].faults = json.loads(record)
        for name, seq, record in self._db.execute(
            "SELECT session, seq, record FROM status_jobs ORDER BY seq"
        ):
            if name in found:
                found[name].status_jobs.append((seq, json.loads(record)))
        return list(found.values())

    # --- writing: one transaction each
    def save_session(self, name: str, made: dict[str, Any]) -> None:
        """Keep a new session, forgetting whatever was kept under its name."""
        with self._transaction():
            self._forget(name)
            self._db.execute("INSERT INTO sessions (name, record) VALUES (?, ?)", (name, _json(made)))

    def drop_session(self, name: str) -> None:
        with self._transaction():
            self._forget(name)

    def _forget(self, name: str) -> None:
        for table in ("jobs", "journal", "engines", "faults", "status_jobs"):
            self._db.execute(f"DELETE FROM {table} WHERE session = ?", (name,))
        self._db.execute("DELETE FROM sessions WHERE name = ?", (name,))

    def save(
        self,
        name: str,
        *,
        live: dict[str, Any] | None = None,
        jobs: Iterable[tuple[str, dict[str, Any]]] = (),
        forgotten: Iterable[str] = (),
        cleared: bool = False,
        exchanges: Iterable[tuple[int, list[Any]]] = (),
        journal_from: int | None = None,
        faults: dict[str, Any] | None = None,
        status_jobs: Iterable[tuple[int, dict[str, Any]]] = (),
        status_from: int | None = None,
    ) -> None:
        """What changed in session ``name``, in one transaction: its engine and clock (``live``),
        its jobs changed and forgotten (every one first, when ``cleared``), new exchanges (the
        journal's rows before ``journal_from`` dropped), its fault counters and new status jobs
        (those numbered before ``status_from`` dropped)."""
        with self._transaction():
            if cleared:
                self._db.execute("DELETE FROM jobs WHERE session = ?", (name,))
            self._db.executemany(
                "DELETE FROM jobs WHERE session = ? AND id = ?", [(name, id_) for id_ in forgotten]
            )
            self._db.executemany(
                "INSERT INTO jobs (session, id, record, ended_at, bytes) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session, id) DO UPDATE SET record = excluded.record, "  # the rowid stays
                "ended_at = excluded.ended_at, bytes = excluded.bytes",
                [(name, id_, _json(record), *job_columns(record)) for id_, record in jobs],
            )
            if live is not None:
                self._db.execute("INSERT OR REPLACE INTO engines (session, record) VALUES (?, ?)",
                                 (name, _json(live)))  # fmt: skip
            self._numbered("journal", name, exchanges, journal_from)
            if faults is not None:
                self._db.execute("INSERT OR REPLACE INTO faults (session, record) VALUES (?, ?)",
                                 (name, _json(faults)))  # fmt: skip
            self._numbered("status_jobs", name, status_jobs, status_from)

    def _numbered(
        self, table: str, name: str, rows: Iterable[tuple[int, Any]], kept_from: int | None
    ) -> None:
        """Rows numbered as they came (the journal's, the status jobs'): the new ones written, those
        numbered before ``kept_from`` (when given) dropped. ``table`` is one of ours, never input."""
        self._db.executemany(
            f"INSERT OR REPLACE INTO {table} (session, seq, record) VALUES (?, ?, ?)",
            [(name, seq, _json(record)) for seq, record in rows],
        )
        if kept_from is not None:
            self._db.execute(f"DELETE FROM {table} WHERE session = ? AND seq < ?", (name, kept_from))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
