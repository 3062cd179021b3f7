"""The part of huey (pinned in constraints.txt) that floorplans uses, typed for mypy: huey
ships no types, and untyped task decorators would make every task untyped.  Read by mypy
only (pyproject.toml: mypy_path), and checked against the installed huey by
tests/test_stubs.py (mypy.stubtest).  Widen it when the code uses more of huey."""

from huey.api import Huey as Huey
from huey.api import RedisHuey as RedisHuey
from huey.api import SqliteHuey as SqliteHuey
from huey.api import crontab as crontab
