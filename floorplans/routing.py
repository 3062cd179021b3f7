"""URL rules whose builders are compiled when first used.

Werkzeug compiles two URL-building functions for every rule as it is added (an AST, then
``compile``): ~1 ms a rule, so 0.13 s of every ``create_app()`` for this app's ~120
rules, paid by each web worker, job worker and command, and by each test's app.  Most
rules are never built in a process's life (a job worker builds none), so each builder is
compiled on its first call instead; matching is unchanged (werkzeug builds its matcher
from the parsed rule, not from the builders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyRule(Rule):
    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compiled: list[Callable[..., tuple[str, str]]] = []

        # Rule.compile binds what this returns to the rule, as it does werkzeug's own; the
        # rule is positional-only so that a URL variable may be called ``rule``.
        def build(rule: Rule, /, **values: Any) -> tuple[str, str]:
            if not compiled:  # two threads may both compile it: the results are equal
                compiled.append(Rule._compile_builder(rule, append_unknown))
            return compiled[0](rule, **values)

        return build
