"""The part of huey (pinned in constraints.txt) that floorplans uses, typed for mypy: huey
ships no types, and untyped task decorators would make every task untyped.  Read from here
by mypy only (pyproject.toml: mypy_path); widen it when the code uses more of huey."""

import datetime as dt
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

class Result:
    def get(self, blocking: bool = ..., timeout: float | None = ...) -> Any: ...

class TaskWrapper(Generic[_P, _R]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Result: ...
    def call_local(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...

class BaseStorage:
    def queue_size(self) -> int: ...
    def flush_all(self) -> None: ...

class Consumer:
    def run(self) -> None: ...

class Huey:
    immediate: bool
    storage: BaseStorage
    def __init__(self, name: str = ..., **storage_kwargs: Any) -> None: ...
    def task(
        self,
        retries: int = ...,
        retry_delay: int = ...,
        retry_backoff: float = ...,
        priority: int | None = ...,
        context: bool = ...,
        name: str | None = ...,
        expires: dt.datetime | int | None = ...,
        timeout: float | None = ...,
        **kwargs: Any,
    ) -> Callable[[Callable[_P, _R]], TaskWrapper[_P, _R]]: ...
    def periodic_task(
        self,
        validate_datetime: Callable[[dt.datetime], bool],
        retries: int = ...,
        retry_delay: int = ...,
        name: str | None = ...,
        **kwargs: Any,
    ) -> Callable[[Callable[[], _R]], TaskWrapper[[], _R]]: ...
    def on_startup(self, name: str | None = ...) -> Callable[[Callable[[], _R]], Callable[[], _R]]: ...
    def create_consumer(
        self,
        *,
        workers: int = ...,
        worker_type: str = ...,
        periodic: bool = ...,
        max_delay: float = ...,
        **options: Any,
    ) -> Consumer: ...
    def pending_count(self) -> int: ...

class SqliteHuey(Huey):
    def __init__(self, name: str = ..., *, filename: str = ..., **storage_kwargs: Any) -> None: ...

class RedisHuey(Huey):
    def __init__(self, name: str = ..., *, url: str | None = ..., **storage_kwargs: Any) -> None: ...

def crontab(
    minute: str = ...,
    hour: str = ...,
    day: str = ...,
    month: str = ...,
    day_of_week: str = ...,
    strict: bool = ...,
) -> Callable[[dt.datetime], bool]: ...
