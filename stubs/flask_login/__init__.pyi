"""The part of Flask-Login 0.6 (pinned in constraints.txt) that floorplans uses, typed for
mypy: it ships no types and has no stub package.  Widen it when the code uses more."""

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

_Loader = TypeVar("_Loader", bound=Callable[..., Any])

# A LocalProxy to the signed-in User, or to Flask-Login's anonymous user: Any, as the
# proxy answers for whichever it is (code checks is_authenticated before using a User's).
current_user: Any

def login_user(
    user: Any, remember: bool = ..., duration: dt.timedelta | None = ..., force: bool = ..., fresh: bool = ...
) -> bool: ...
def logout_user() -> bool: ...

class LoginManager:
    login_view: str | None
    login_message: str
    login_message_category: str
    session_protection: str | None
    def __init__(self, app: Flask | None = ..., add_context_processor: bool = ...) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = ...) -> None: ...
    def user_loader(self, callback: _Loader) -> _Loader: ...
    def request_loader(self, callback: _Loader) -> _Loader: ...
    def _update_request_context_with_user(self, user: Any = ...) -> None: ...
