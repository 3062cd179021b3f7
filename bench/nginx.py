"""A standalone nginx around the signed tile front's locations (floorplans.tile_links), as
tests/test_tile_front.py, the offline browser test and bench/load.py run it: no root, no
system paths, foreground, everything under one folder.

Development tooling only; the deployment's own nginx takes the printed locations
(docs/operations.md).
"""
from __future__ import annotations

import os
from pathlib import Path


def nginx_conf(folder: Path, port: int, locations: str, *, tuned: bool = False) -> Path:
    """The configuration file, written in ``folder``.  ``tuned``: as the load benchmark runs
    it (a worker per core, sendfile, an open-file cache, deep queues) rather than one worker."""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    # Started as root (CI), nginx's workers would drop to "nobody", who cannot read pytest's
    # private temporary folders: keep them as the user who owns the files.
    user = "user root root;" if os.geteuid() == 0 else ""
    workers, connections, backlog = ("auto", 4096, " backlog=4096") if tuned else ("1", 1024, "")
    speed = "sendfile on;\n    open_file_cache max=10000 inactive=60s;" if tuned else ""
    conf.write_text(f"""
{user}
daemon off;
worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    {speed}
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port}{backlog};
        {locations}
    }}
}}
""")
    return conf
