import datetime as dt
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from huey.consumer import Consumer
from huey.storage import BaseStorage

_P = ParamSpec("_P")
_R = TypeVar("_R")

class Result:
    def get(
        self,
        blocking: bool = ...,
        timeout: float | None = ...,
        backoff: float = ...,
        max_delay: float = ...,
        revoke_on_timeout: bool = ...,
        preserve: bool = ...,
    ) -> Any: ...

class TaskWrapper(Generic[_P, _R]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Result: ...
    def call_local(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...

class Huey:
    immediate: bool
    storage: BaseStorage
    def __init__(
        self,
        name: str = ...,
        results: bool = ...,
        store_none: bool = ...,
        utc: bool = ...,
        immediate: bool = ...,
        serializer: Any = ...,
        compression: bool = ...,
        use_zlib: bool = ...,
        immediate_use_memory: bool = ...,
        storage_class: type[BaseStorage] | None = ...,
        store_intermediate_errors: bool = ...,
        **storage_kwargs: Any,
    ) -> None: ...
    def task(
        self,
        retries: int = ...,
        retry_delay: int = ...,
        retry_backoff: float = ...,
        priority: int | None = ...,
        context: bool = ...,
        name: str | None = ...,
        expires: dt.datetime | dt.timedelta | int | None = ...,
        timeout: float | None = ...,
        **kwargs: Any,
    ) -> Callable[[Callable[_P, _R]], TaskWrapper[_P, _R]]: ...
    def periodic_task(
        self,
        validate_datetime: Callable[[dt.datetime], bool],
        retries: int = ...,
        retry_delay: int = ...,
        retry_backoff: float = ...,
        priority: int | None = ...,
        context: bool = ...,
        name: str | None = ...,
        expires: dt.datetime | dt.timedelta | int | None = ...,
        timeout: float | None = ...,
        **kwargs: Any,
    ) -> Callable[[Callable[[], _R]], TaskWrapper[[], _R]]: ...
    def on_startup(self, name: str | None = ...) -> Callable[[Callable[[], _R]], Callable[[], _R]]: ...
    # huey's own signature is (**options): these are the consumer's options floorplans passes.
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

# Both take Huey's arguments, then their storage's (a SQLite file name, a Redis URL).
class SqliteHuey(Huey): ...
class RedisHuey(Huey): ...

def crontab(
    minute: str = ...,
    hour: str = ...,
    day: str = ...,
    month: str = ...,
    day_of_week: str = ...,
    strict: bool = ...,
) -> Callable[[dt.datetime], bool]: ...
