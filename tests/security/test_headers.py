"""Every HTML page, for every kind of visitor, over HTTP and HTTPS, carries the security
headers; every response that carries a contact's phone number is never stored."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.blueprints.test_permissions import VISITORS, World, requests_of, url_for_rule, world  # noqa: F401

PHONE = "416-555-0100"  # the world's contacts' number (tests/blueprints/test_permissions.py)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def check(response, https: bool) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    csp = directives(response.headers.get("Content-Security-Policy", ""))
    scripts = csp.get("script-src", csp.get("default-src"))
    if not scripts or "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts or "*" in scripts:
        problems.append(f"script-src {scripts}")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors {csp.get('frame-ancestors')}")
    if csp.get("object-src") != ["'none'"]:
        problems.append("object-src")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if response.headers.get("Referrer-Policy") != "same-origin":
        problems.append("Referrer-Policy")
    hsts = response.headers.get("Strict-Transport-Security", "")
    if (https and not re.match(r"max-age=(\d+)", hsts)) or (https and int(hsts.split("=")[1].split(";")[0]) < 15768000):
        problems.append(f"HSTS {hsts!r}")
    if not https and hsts:
        problems.append("HSTS over plain HTTP")
    body = response.get_data().decode("utf-8", "replace")
    if INLINE_SCRIPT.search(body) or EVENT_HANDLER.search(body):
        problems.append("inline script in the page")
    if PHONE in body and "no-store" not in response.headers.get("Cache-Control", ""):
        problems.append("a contact's number without Cache-Control: no-store")
    return problems


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_html_page_carries_the_headers(app: Flask, world: World, visitor: str) -> None:  # noqa: F811
    client = world.browsers[visitor].client
    seen, with_contacts, problems = 0, 0, []
    for rule, method in requests_of(app):
        if method != "GET" or rule.endpoint == "auth.logout":
            continue
        url = url_for_rule(rule, world.ids)
        for https in (False, True):
            response = client.get(url, base_url="https://localhost" if https else "http://localhost")
            # Downloads (the packet PDF, page PNGs) are bytes: look for a number in them all the same.
            text = response.get_data().decode("utf-8", "replace")
            if response.mimetype == "text/html" or PHONE in text:
                seen += 1
                with_contacts += PHONE in text
                problems += [f"{visitor} {'https' if https else 'http'} {url}: {p}" for p in check(response, https)]
            response.close()
    assert problems == []
    assert seen >= (4 if visitor == "anonymous" else 10)
    if visitor in ("partner_own", "officer", "planner", "admin"):
        assert with_contacts >= 2, "no page with the contacts was checked"


def test_the_check_sees_a_weak_page(app: Flask) -> None:
    """The checker itself must be able to fail."""
    from flask import Response

    weak = Response("<p>416-555-0100</p><script>alert(1)</script>", mimetype="text/html")
    weak.headers["Content-Security-Policy"] = "script-src 'self' 'unsafe-inline'"
    problems = check(weak, https=True)
    assert any("script-src" in p for p in problems) and any("HSTS" in p for p in problems)
    assert any("no-store" in p for p in problems) and any("inline script" in p for p in problems)
    assert any("frame-ancestors" in p for p in problems)
