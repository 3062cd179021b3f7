"""Backups that restore: one archive holding every row of every table and every stored
object, written from a consistent snapshot, restorable into an empty deployment on either
database engine (a SQLite backup restores into PostgreSQL and back).

Archive layout (a tar file, optionally gzip-compressed by its name):
  manifest.json              format, schema revision, created_at, row counts, sha256 of every object,
                             tiles_skipped (and after_restore: what to run then); first in new archives
  tables/<table>.jsonl       one JSON object per row, tables in dependency order
  objects/<key>              every object of the store, byte for byte (with --skip-tiles: all but
                             the tile pyramids, which ``plans rerender`` renders again from the originals)

Objects are read and written a batch at a time through the store's get_many/put_many
(concurrent: over a network each request waits a round trip).  A backup copies them into a
work folder beside the archive first, so one that was interrupted continues when run again;
a restore writes the records in one transaction at its end, so one that was interrupted
finds only this backup's objects in storage, keeps those whose bytes match the manifest and
finishes.  Every restored object is checked against the manifest's sha256 before it is
written, and an archive whose objects and manifest disagree is refused, naming the object.

Must not import blueprints.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from alembic.migration import MigrationContext
from sqlalchemy import Connection, Table, create_engine, func, insert, select, types, update

from floorplans import objects
from floorplans.db import Base, db, utcnow
from floorplans.errors import FloorplansError

FORMAT = "floorplans-backup/1"


class Progress(Protocol):
    """Told after each table and each batch of objects: ``what`` ("tables" or "objects"),
    how many are done of ``total``, and for objects the bytes done (of ``total_bytes`` when
    known beforehand, as on a restore)."""

    def __call__(self, what: str, done: int, total: int, *, done_bytes: int = 0,
                 total_bytes: int | None = None) -> None: ...


BATCH = 256  # objects read or written together (get_many / put_many)


def _batches(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), BATCH):
        yield keys[start:start + BATCH]


class BackupError(FloorplansError):
    pass


@dataclass
class BackupReport:
    rows: dict[str, int]
    objects: int
    object_bytes: int
    missing_objects: list[str]
    tiles_skipped: bool = False
    skipped_objects: int = 0
    resumed_objects: int = 0  # copied (backup) or restored (restore) by an interrupted run before


RERENDER_HINT = ("This backup was made with --skip-tiles: it has no tiles. Run `flask plans rerender --all` "
                 "to rebuild them from the kept original PDFs; until then officers see no plan.")


def is_tile(key: str) -> bool:
    """A key of a version's tile pyramid (tiles, overviews, page manifests), rebuilt from the
    kept original by ``flask plans rerender``; the version's labels.json is kept (it may be
    edited) and so never counts as one."""
    return key.startswith(objects.TILES_PREFIX) and key != objects.labels_key(objects.version_key_of(key))


# Circular references (a building points at its published plan version, which points back
# at the building) are written as NULL on insert and set afterwards.
DEFERRED = {("buildings", "published_version_id")}


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def _decode(column_type: types.TypeEngine[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, types.DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(column_type, types.Date):
        return dt.date.fromisoformat(value)
    if isinstance(column_type, types.Time):
        return dt.time.fromisoformat(value)
    if isinstance(value, dict) and "base64" in value:
        return base64.b64decode(value["base64"])
    return value


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """A connection that sees one consistent state of the database for as long as it is open."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        # SQLite's backup API copies a consistent image even while the app writes (WAL).
        with tempfile.TemporaryDirectory(prefix="floorplans-backup-") as folder:
            copy = Path(folder) / "snapshot.sqlite3"
            source = sqlite3.connect(engine.url.database or "")
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            snapshot_engine = create_engine(f"sqlite:///{copy}")
            try:
                with snapshot_engine.connect() as connection:
                    yield connection
            finally:
                snapshot_engine.dispose()
        return
    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield connection


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def work_folder_of(path: Path) -> Path:
    """Where a backup to ``path`` keeps what it has copied so far: run again after an
    interruption, it continues from there instead of starting over."""
    return path.with_name(path.name + ".work")


class _Work:
    """The work folder of a backup: the objects copied so far, appended to ``objects.tar`` a
    batch at a time, each batch then recorded in ``done.jsonl`` with the tar's length after it
    (a batch cut short by an interruption is not recorded, and is cut off on resuming)."""

    def __init__(self, folder: Path, *, skip_tiles: bool) -> None:
        self.folder = folder
        folder.mkdir(exist_ok=True)
        settings = folder / "settings.json"
        wanted = {"format": FORMAT, "skip_tiles": skip_tiles}
        if settings.exists() and json.loads(settings.read_text()) != wanted:
            raise BackupError(f"{folder} holds an interrupted backup made with other options "
                              f"({settings.read_text().strip()}); run it again with those, or delete the folder.")
        settings.write_text(json.dumps(wanted))
        self.hashes: dict[str, str] = {}
        self.missing: list[str] = []
        self.bytes = 0
        offset = 0
        log = folder / "done.jsonl"
        if log.exists():
            for line in log.read_text().splitlines():
                try:
                    batch = json.loads(line)
                except ValueError:
                    break  # the line being written when interrupted
                self.hashes.update(batch["objects"])
                self.missing.extend(batch["missing"])
                self.bytes += batch["bytes"]
                offset = batch["offset"]
        self.resumed = len(self.hashes)
        self.file = open(folder / "objects.tar", "ab+")
        self.file.truncate(offset)
        self.file.seek(offset)
        self.log = open(log, "a")

    def add(self, found: dict[str, bytes | None]) -> None:
        hashes: dict[str, str] = {}
        missing: list[str] = []
        size = 0
        with tarfile.open(fileobj=self.file, mode="w") as archive:
            for key, data in found.items():
                if data is None:
                    missing.append(key)  # removed by a cleanup while we copied
                    continue
                hashes[key] = hashlib.sha256(data).hexdigest()
                size += len(data)
                _add(archive, f"objects/{key}", data)
            offset = archive.offset  # before the end-of-archive blocks closing writes
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.truncate(offset)
        self.file.seek(offset)
        self.log.write(json.dumps({"offset": offset, "objects": hashes, "missing": missing, "bytes": size}) + "\n")
        self.log.flush()
        self.hashes.update(hashes)
        self.missing.extend(missing)
        self.bytes += size

    def copy_into(self, archive: tarfile.TarFile) -> None:
        self.file.flush()
        if not self.hashes:
            return  # nothing copied (an empty store): an empty file is no tar
        self.file.seek(0)
        with tarfile.open(fileobj=self.file, mode="r:") as copied:
            for member in copied:
                content = copied.extractfile(member)
                if content is not None:
                    archive.addfile(member, content)

    def close(self) -> None:
        self.file.close()
        self.log.close()


def write_backup(path: Path, *, skip_tiles: bool = False, progress: Progress | None = None) -> BackupReport:
    """Write the archive to ``path`` (atomically: a partial archive never has the final name).
    With ``skip_tiles`` the tile pyramids are left out (``is_tile``): every record and every
    kept original is in it, and the tiles are rendered again after a restore.

    Objects are copied into a work folder beside ``path`` first (``work_folder_of``); if the
    backup is interrupted, running it again continues the copy (objects never change under a
    key) and takes a new snapshot of the records.  The folder goes once the archive is written."""
    store = objects.get_storage()
    mode: Literal["w:gz", "w"] = "w:gz" if path.name.endswith((".tgz", ".tar.gz")) else "w"
    folder = work_folder_of(path)
    work = _Work(folder, skip_tiles=skip_tiles)
    partial = path.with_name(path.name + ".partial")
    rows: dict[str, int] = {}
    try:
        tables_file = folder / "tables.tar"
        with tarfile.open(tables_file, "w") as tables_archive, _snapshot() as connection:
            revision = _revision(connection)
            tables = _tables()
            for number, table in enumerate(tables, start=1):
                lines = [
                    json.dumps({k: _encode(v) for k, v in row._mapping.items()}, ensure_ascii=False)
                    for row in connection.execute(select(table).order_by(*table.primary_key.columns))
                ]
                rows[table.name] = len(lines)
                _add(tables_archive, f"tables/{table.name}.jsonl",
                     ("\n".join(lines) + "\n" if lines else "").encode())
                if progress:
                    progress("tables", number, len(tables))
        # Objects never change under a key, so copying them after the snapshot is safe;
        # an object added meanwhile is kept too (the cleanup removes it if nothing uses it).
        # Read a batch at a time, concurrently (over a network each read waits a round trip).
        # Filtered as listed: a province's store holds millions of tiles, kept out of memory.
        keys, skipped = [], 0
        for key in store.list(""):
            if skip_tiles and is_tile(key):
                skipped += 1
            else:
                keys.append(key)
        done_before = set(work.hashes) | set(work.missing)
        todo = [key for key in keys if key not in done_before]
        done = len(keys) - len(todo)
        for batch in _batches(todo):
            work.add(store.get_many(batch))
            done += len(batch)
            if progress:
                progress("objects", done, len(keys), done_bytes=work.bytes)
        manifest = {
            "format": FORMAT,
            "revision": revision,
            "created_at": utcnow().isoformat() + "Z",
            "rows": rows,
            "objects": work.hashes,
            "missing_objects": work.missing,
            "tiles_skipped": skip_tiles,
            "skipped_objects": skipped,
            **({"after_restore": RERENDER_HINT} if skip_tiles else {}),
        }
        with tarfile.open(partial, mode) as archive:
            # The manifest first: a restore reads it before the objects it vouches for.
            _add(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
            with tarfile.open(tables_file, "r:") as tables_archive:
                for member in tables_archive:
                    content = tables_archive.extractfile(member)
                    if content is not None:
                        archive.addfile(member, content)
            work.copy_into(archive)
        partial.replace(path)
    finally:
        work.close()
        partial.unlink(missing_ok=True)
    shutil.rmtree(folder)
    return BackupReport(rows, len(work.hashes), work.bytes, work.missing, skip_tiles, skipped, work.resumed)


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile("manifest.json")
    except KeyError:
        raise BackupError("This file is not a floorplans backup (it has no manifest.json).") from None
    manifest = json.loads(member.read()) if member else {}
    if manifest.get("format") != FORMAT:
        raise BackupError(f"This backup's format is {manifest.get('format')!r}; this version reads {FORMAT!r}.")
    return manifest


def restore_backup(path: Path, *, verify: bool = True, progress: Progress | None = None) -> BackupReport:
    """Restore into an empty deployment (migrated, no rows, no objects); the caller commits.
    Each object is checked against the manifest's sha256 as it is read from the archive and,
    with ``verify``, again as read back from storage after it is written; any mismatch
    raises BackupError naming the object, before anything is committed."""
    store = objects.get_storage()
    with tarfile.open(path, "r:*") as archive:
        manifest = _read_manifest(archive)
        connection = db.session.connection()
        revision = _revision(connection)
        if revision != manifest["revision"]:
            raise BackupError(
                f"The backup is of database schema {manifest['revision']} but this deployment is at {revision}. "
                "Install the floorplans version that made the backup, or migrate it first."
            )
        for table in _tables():
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise BackupError(f"This deployment is not empty (table {table.name} has rows). Restore "
                                  "only into a new, empty deployment.")
        # Storage holding only objects of this backup is a restore interrupted before its
        # commit (the records are written last, in one transaction): it continues.
        already = list(store.list(""))
        foreign = [key for key in already if key not in manifest["objects"]]
        if foreign:
            raise BackupError(f"This deployment's storage is not empty (it holds {foreign[0]}, which is not in "
                              "this backup). Restore only into empty storage.")

        rows: dict[str, int] = {}
        deferred: list[tuple[Table, dict[str, Any], dict[str, Any]]] = []
        tables = _tables()
        for number, table in enumerate(tables, start=1):
            member = archive.extractfile(f"tables/{table.name}.jsonl")
            lines = member.read().decode().splitlines() if member else []
            records = []
            for line in lines:
                raw = json.loads(line)
                record = {c.name: _decode(c.type, raw.get(c.name)) for c in table.columns if c.name in raw}
                later = {c: record[c] for t, c in DEFERRED if t == table.name and record.get(c) is not None}
                if later:
                    # Setting them later must not fire "on update" defaults (updated_at).
                    later.update({c.name: record.get(c.name) for c in table.columns if c.onupdate is not None})
                    deferred.append((table, {k: record[k] for k in (c.name for c in table.primary_key)}, later))
                    record.update({c: None for t, c in DEFERRED if t == table.name})
                records.append(record)
            if records:
                connection.execute(insert(table), records)
            rows[table.name] = len(records)
            if progress:
                progress("tables", number, len(tables))
        for table, key, values in deferred:
            where = [table.c[name] == value for name, value in key.items()]
            connection.execute(update(table).where(*where).values(**values))
        if connection.dialect.name == "postgresql":
            for table in tables:
                for column in table.primary_key.columns:
                    if isinstance(column.type, types.Integer) and column.autoincrement:
                        # The next id continues after the restored rows.
                        following = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
                        sequence = func.pg_get_serial_sequence(table.name, column.name)
                        connection.execute(select(func.setval(sequence, following, False)))

        expected: dict[str, str] = manifest["objects"]
        keys = sorted(expected)
        total = 0
        written = 0
        restored = _already_restored(already, expected)
        batch: list[tuple[str, bytes]] = []

        def flush() -> None:
            nonlocal written, total
            store.put_many((key, data, None) for key, data in batch)
            if verify:  # read back: what storage keeps is what the backup vouches for
                for key, kept in store.get_many(key for key, _ in batch).items():
                    if kept is None or hashlib.sha256(kept).hexdigest() != expected[key]:
                        raise BackupError(f"The restore failed: object {key} as stored does not match the "
                                          "backup's checksum (storage changed it or lost it). Nothing was saved "
                                          "of the records.")
            written += len(batch)
            total += sum(len(data) for _, data in batch)
            batch.clear()
            if progress:
                progress("objects", written, len(keys), done_bytes=total, total_bytes=archive_bytes)

        archive_bytes = sum(entry.size for entry in archive.getmembers() if entry.name.startswith("objects/"))
        seen: set[str] = set()
        for entry in archive:  # in the archive's order: a compressed archive is read once
            if not entry.isfile() or not entry.name.startswith("objects/"):
                continue
            name = entry.name.removeprefix("objects/")
            if name not in expected:
                raise BackupError(f"The backup is damaged: object {name} is not in its manifest.")
            content = archive.extractfile(entry)
            data = content.read() if content else b""
            if hashlib.sha256(data).hexdigest() != expected[name]:
                raise BackupError(f"The backup is damaged: object {name} does not match its checksum.")
            seen.add(name)
            if name in restored:
                written += 1
                total += len(data)
                continue
            batch.append((name, data))
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
        absent = [key for key in keys if key not in seen]
        if absent:
            raise BackupError(f"The backup is damaged: {len(absent)} object(s) of its manifest are missing "
                              f"from it, e.g. {absent[0]}.")
    return BackupReport(rows, len(keys), total, list(manifest.get("missing_objects", [])),
                        bool(manifest.get("tiles_skipped")), int(manifest.get("skipped_objects", 0)),
                        len(restored))


def _already_restored(keys: list[str], expected: dict[str, str]) -> set[str]:
    """Of the objects an interrupted restore wrote, those whose bytes match the manifest (read
    back: an object cut short is written again)."""
    store = objects.get_storage()
    restored: set[str] = set()
    for batch in _batches(keys):
        for key, data in store.get_many(batch).items():
            if data is not None and hashlib.sha256(data).hexdigest() == expected[key]:
                restored.add(key)
    return restored
