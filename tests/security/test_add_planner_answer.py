"""'Add planner' by e-mail gives one answer whatever the address is: a planner's (added), an
administrator's, an officer's, a partner's, a disabled planner's, one already taking part,
or nobody's.  A planner typing addresses learns nothing about which are staff accounts; the
list of planners on the exercise's page shows who takes part (planners, who are meant to
see each other)."""

from __future__ import annotations

import re

from werkzeug.test import TestResponse

from floorplans.db import db
from floorplans.models import Exercise, Role

FLASH = re.compile(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', re.S)


def answer(response: TestResponse, address: str) -> tuple[object, ...]:
    """Everything the response shows, with the address typed replaced by a placeholder."""
    headers = tuple(sorted((name, value) for name, value in response.headers.items()
                           if name not in ("Set-Cookie", "Content-Length")))
    return response.status_code, headers, response.get_data(as_text=True).replace(address, "ADDRESS")


def test_the_answer_is_the_same_for_every_address(app, make_user, make_building, browser_for) -> None:  # type: ignore[no-untyped-def]
    planner = make_user(Role.PLANNER)
    exercise = Exercise(name="Evacuation drill", planners=[planner], buildings=[make_building()])
    db.session.add(exercise)
    db.session.commit()
    colleague = make_user(Role.PLANNER)
    addresses = {
        "a planner": colleague.email,
        "an administrator": make_user(Role.ADMIN).email,
        "an officer": make_user(Role.OFFICER).email,
        "a partner": make_user(Role.PARTNER).email,
        "a disabled planner": make_user(Role.PLANNER, active=False).email,
        "a planner taking part already": planner.email,
        "nobody": "nobody-at-all@example.org",
    }
    web = browser_for(planner)
    url = f"/exercises/{exercise.id}/planners"
    answers, flashes = {}, {}
    for who, address in addresses.items():
        posted = web.post(url, {"email": address.upper()})  # typed in capitals: the same account
        answers[who] = answer(posted, address.upper())
        assert posted.status_code == 302, f"{who}: {posted.status_code} {posted.get_data(as_text=True)[:300]}"
        page = web.get(posted.headers["Location"]).get_data(as_text=True)
        flashes[who] = [text.strip().replace(address, "ADDRESS") for text in FLASH.findall(page)]
    assert len(set(answers.values())) == 1, answers
    assert len({tuple(f) for f in flashes.values()}) == 1, flashes
    assert flashes["nobody"] == ["If ADDRESS is the e-mail of a planner&#39;s account, they take part now: "
                                 "see the list of planners."]
    # Only the planner was added.
    db.session.expire_all()
    assert set(db.session.get(Exercise, exercise.id).planners) == {planner, colleague}
