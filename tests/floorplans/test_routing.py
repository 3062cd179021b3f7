"""The app's URL rules compile their builders on first use (floorplans.routing): every
rule must build the same URLs werkzeug's own rules build."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import Map, Rule
from werkzeug.routing.converters import PathConverter

from floorplans.routing import LazyRule


def sample(converter: object) -> object:
    if isinstance(converter, PathConverter):
        return "floor 1/é & ü"
    return 7 if "Id" in type(converter).__name__ else "Ground floor é/?"


def test_every_rule_builds_what_werkzeug_builds(app: Flask) -> None:
    plain = Map(converters=app.url_map.converters)
    for rule in app.url_map.iter_rules():
        plain.add(Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods, defaults=rule.defaults))
    plain_rules = {(r.endpoint, r.rule): r for r in plain.iter_rules()}
    checked = 0
    for rule in app.url_map.iter_rules():
        assert isinstance(rule, LazyRule)
        values = {name: sample(converter) for name, converter in rule._converters.items()}
        expected = plain_rules[(rule.endpoint, rule.rule)]
        for append_unknown in (False, True):
            extra = {"q": "a b", "page": 2} if append_unknown else {}
            assert rule.build({**values, **extra}, append_unknown) == expected.build(
                {**values, **extra}, append_unknown
            ), rule.rule
            checked += 1
    assert checked >= 200


def test_a_url_variable_may_be_called_rule(app: Flask) -> None:
    lazy = Map([LazyRule("/rules/<rule>", endpoint="rule")]).bind("example.org")
    assert lazy.build("rule", {"rule": "a b"}) == "/rules/a%20b"
    assert lazy.build("rule", {"rule": "c"}) == "/rules/c"  # compiled once, used again
