"""Backup and restore: objects a second for ``flask backup`` and ``flask restore`` against a
bucket on moto's S3 server (its own process, 127.0.0.1), with many small objects (tiles) in
the store and a small database (SQLite).  Prints figures, never pass/fail.

    .venv/bin/python bench/backup.py [--objects 20000] [--size 2000] [--module path/to/old/backup.py]

``--module`` measures another version of floorplans/services/backup.py (e.g. the one before
concurrent copying: ``git show 7e126fa:floorplans/services/backup.py > /tmp/old.py``).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def load_module(path: str | None) -> ModuleType:
    if path is None:
        from floorplans.services import backup

        return backup
    spec = importlib.util.spec_from_file_location("old_backup", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_backup"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=2_000, help="bytes an object (a small tile is 1-5 kB)")
    parser.add_argument("--module", help="another backup.py to measure (the code before)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="wait this long before each object GET and PUT, as a network round trip would "
                             "(moto on loopback answers in about a millisecond; S3 from a data centre ~10-30)")
    parser.add_argument("--archive", default="backup.tar", help="archive name (.tar.gz compresses)")
    parser.add_argument("--store", choices=["s3", "local"], default="s3",
                        help="local: a folder (the embedded default), where the server is not the bound")
    args = parser.parse_args()
    if args.store == "local":
        with tempfile.TemporaryDirectory(prefix="floorplans-backup-store-") as folder:
            run(args, str(Path(folder) / "store"))
        return
    from exports import s3_bucket  # bench/exports.py: moto in its own process

    with s3_bucket() as storage_url:
        run(args, storage_url)


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU a process has used (``/proc/<pid>/stat``), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def moto_pid() -> int:
    """The moto server's process (bench/exports.s3_bucket starts it on the endpoint's port)."""
    port = os.environ["AWS_ENDPOINT_URL_S3"].rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"moto_server") for part in command) and port.encode() in command:
            return int(proc.name)
    raise SystemExit("moto's server process not found")


class CpuUse:
    """The CPU the client (this process) and moto's server spend on a step, per object:
    on 2 cores, 1,000 objects a second needs the two together under 2 ms an object."""

    def __init__(self, store: str) -> None:
        self.server = moto_pid() if store == "s3" else None
        self.start = (cpu_seconds(), cpu_seconds(self.server) if self.server else 0.0)

    def line(self, objects: int) -> str:
        client = cpu_seconds() - self.start[0]
        server = cpu_seconds(self.server) - self.start[1] if self.server else 0.0
        if not objects:
            return ""
        return (f"CPU a object: client {1000 * client / objects:.2f} ms"
                + (f", moto {1000 * server / objects:.2f} ms" if self.server else "")
                + f" (at most {objects / (client + server) * 2:,.0f} objects/s on 2 cores)")


def run(args: argparse.Namespace, storage_url: str) -> None:
    from flask_migrate import upgrade

    from floorplans import create_app, objects

    backup = load_module(args.module)
    print(f"# backup: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}, "
          f"{'S3 (moto, own process, loopback)' if args.store == 's3' else 'a local folder'}, "
          f"{args.objects} objects of {args.size} bytes, code {args.module or 'current'}"
          + (f", {args.latency_ms:g} ms added to each GET and PUT" if args.latency_ms else ""))

    def slowed(app: Flask) -> Flask:
        if args.latency_ms:
            events = app.extensions["floorplans.storage"].client.meta.events
            for operation in ("GetObject", "PutObject"):
                events.register(f"before-send.s3.{operation}", lambda **_: time.sleep(args.latency_ms / 1000))
        return app

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        source = slowed(create_app({"INSTANCE_PATH": str(base / "i1"), "DATABASE_URL": f"sqlite:///{base}/a.sqlite3",
                             "STORAGE_URL": storage_url + "-a", "SECRET_KEY": "bench"}))
        with source.app_context():
            upgrade()
            store = objects.get_storage()
            payload = os.urandom(args.size)
            tiles = args.objects - args.objects // 100  # 1 in 100 an original (PDF, photo): the rest tiles
            store.put_many(((f"tiles/bench{n // 5000}/1/{n // 1000 % 5}/{n % 1000}/0.webp" if n < tiles
                             else f"originals/{n:064x}.pdf"), payload[:-8] + n.to_bytes(8, "big"), None)
                           for n in range(args.objects))
            archive = base / args.archive
            started, cpu = time.perf_counter(), CpuUse(args.store)
            report = backup.write_backup(archive)
            seconds = time.perf_counter() - started
            print(f"backup:  {report.objects} objects in {seconds:.1f} s: {report.objects / seconds:,.0f} objects/s "
                  f"({archive.stat().st_size / 1e6:.1f} MB archive); {cpu.line(report.objects)}")
            if args.module is None:
                skipped = base / ("skip-" + args.archive)
                started = time.perf_counter()
                report = backup.write_backup(skipped, skip_tiles=True)
                seconds = time.perf_counter() - started
                print(f"backup --skip-tiles: {report.objects} objects ({report.skipped_objects} tiles left out) "
                      f"in {seconds:.1f} s")
        runs = [("restore", {})] if args.module else [("restore", {}), ("restore --no-verify", {"verify": False})]
        for number, (label, options) in enumerate(runs):
            target = slowed(create_app({"INSTANCE_PATH": str(base / f"r{number}"),
                                 "DATABASE_URL": f"sqlite:///{base}/r{number}.sqlite3",
                                 "STORAGE_URL": f"{storage_url}-r{number}", "SECRET_KEY": "bench"}))
            with target.app_context():
                upgrade()
                from floorplans.db import db

                started, cpu = time.perf_counter(), CpuUse(args.store)
                report = backup.restore_backup(archive, **options)
                db.session.commit()
                seconds = time.perf_counter() - started
                print(f"{label}: {report.objects} objects in {seconds:.1f} s: "
                      f"{report.objects / seconds:,.0f} objects/s; {cpu.line(report.objects)}")
                db.engine.dispose()
    print(f"# load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
