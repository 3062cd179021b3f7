"""The CAD lookup keeps its statements, one per shape of address, and binds each lookup's
words when it runs: a kept statement must answer exactly what one built for that address
alone answers, whichever addresses came before it, and never another congregation's."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event

from floorplans.db import db
from floorplans.models import Role
from floorplans.services import finding
from floorplans.services.finding import lookup_address

STREETS = ["Main Street", "Main Avenue", "King St E", "King Street West", "Dundas St W", "Rue Saint-Denis", "Elm Rd",
           "Kingston Road", "Mill St"]
CITIES = [("Toronto", "M5V 2T6"), ("Hamilton", "L8P 1A1"), ("Guelph", ""), ("Montréal", "H2X 1Y4")]
ADDRESSES = [
    "123 Main St, Toronto", "124 Main St, Toronto", "125 Main Ave, Hamilton ON", "12 King St E", "13 King Street",
    "14 Kings St, Guelph", "2169 Dundas St W, Toronto ON M5V 2T6", "2170 Dundas St W", "M5V 2T6", "L8P 1A1",
    "45 rue St-Denis, Montréal (Québec)", "46 Rue Saint Denis", "7 Elm Rd, Guelph", "8 Elm", "99 Nowhere Rd",
    "Main St, Toronto", "Unit 4, 123 Main St.", "123 Mian Street, Toronot", "300 Mill St, Hamilton, L8P 1A1",
    "301 Mill St Hamilton L8P1A1", "5 Kingston Rd", "6 King Rd", "Beth Shalom, 99 Elm St", "123", "12 13 King St",
    "4 123 Main Street Toronto", "123 Main St W, Unit 4, Toronto ON M5V 2T6",
]


@contextmanager
def statements() -> Iterator[list[str]]:
    issued: list[str] = []
    listener = lambda *args: issued.append(args[2])  # noqa: E731  (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield issued
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def answers(user, address: str) -> tuple[list[tuple[int, tuple[str, ...]]], int]:  # type: ignore[no-untyped-def]
    """The matches, and how many statements found them: a kept statement answering with
    another address's words would find the same buildings by the longer way, if at all."""
    db.session.expire_all()
    with statements() as issued:
        matches = [(m.building.id, m.differences) for m in lookup_address(user, address).matches]
    return matches, len(issued)


def test_a_kept_statement_answers_as_one_built_for_its_address(app, make_user, make_organisation,
                                                               make_building) -> None:
    rng = random.Random(19)
    officer = make_user(Role.OFFICER)
    organisation = make_organisation()
    for n in range(120):
        city, postal_code = rng.choice(CITIES)
        number = rng.choice([12, 13, 14, 45, 46, 123, 124, 125, 300, 2169, 2171, rng.randint(1, 400)])
        make_building(organisation, name=rng.choice(["Beth Shalom", "Grace Chapel", "Masjid", "St. Mary"]) + f" {n}",
                      street=f"{number} {rng.choice(STREETS)}", city=city,
                      postal_code=postal_code if rng.random() < 0.6 else "")
    fresh = {}
    for address in ADDRESSES:
        finding._BUILT.clear()
        fresh[address] = answers(officer, address)
    assert sum(1 for found, _ in fresh.values() if found) > len(ADDRESSES) // 2  # the addresses find buildings
    assert len(finding._BUILT) > 1
    for _ in range(2):
        order = list(ADDRESSES)
        rng.shuffle(order)
        for address in order:
            assert answers(officer, address) == fresh[address], address


def test_a_kept_statement_never_answers_with_another_congregation_s_buildings(app, make_user, make_organisation,
                                                                               make_building) -> None:
    ours, theirs = make_organisation(), make_organisation()
    synagogue = make_building(ours, name="Beth Shalom", street="123 Main Street", city="Toronto", postal_code="")
    mosque = make_building(theirs, name="Masjid", street="125 Main Street", city="Toronto", postal_code="")
    partner, other_partner = make_user(Role.PARTNER, organisation=ours), make_user(Role.PARTNER, organisation=theirs)
    finding._BUILT.clear()
    for _ in range(2):  # each after the other, the same shape of address
        assert [m.building.id for m in lookup_address(partner, "124 Main St, Toronto").matches] == [synagogue.id]
        assert [m.building.id for m in lookup_address(other_partner, "124 Main St, Toronto").matches] == [mosque.id]
        assert lookup_address(partner, "125 Main St, Toronto").opens is None
        assert lookup_address(other_partner, "123 Main St, Toronto").opens is None


def test_a_partner_of_no_congregation_never_gets_the_officers_statement(app, make_user, make_organisation,
                                                                         make_building) -> None:
    """Not yet attached to a congregation, a partner reads no building; an officer reads them
    all.  Their scopes must not meet in one kept statement, whichever asks first."""
    synagogue = make_building(make_organisation(), name="Beth Shalom", street="123 Main Street", city="Toronto",
                              postal_code="")
    officer = make_user(Role.OFFICER)
    unattached = make_user(Role.PARTNER)
    unattached.organisation = None
    db.session.commit()
    for first, second in ((officer, unattached), (unattached, officer)):
        finding._BUILT.clear()
        for user in (first, second):
            expected = [synagogue.id] if user is officer else []
            for address in ("123 Main St, Toronto", "124 Main St, Toronto"):
                assert [m.building.id for m in lookup_address(user, address).matches] == expected, (user.role, address)


@dataclass(frozen=True)
class Shape:
    name: str


def test_a_kept_statement_is_read_safely_while_another_thread_makes_room(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One process may run lookups in threads (``flask run``, a threaded worker): a lookup
    reading its kept statement while another's new shape empties the full cache must get
    its statement, not a KeyError (a 500 on the officer's screen)."""
    import sys
    import threading

    monkeypatch.setattr(finding, "_BUILT", {})
    monkeypatch.setattr(finding, "MAX_BUILT", 1)  # every new shape empties the cache
    failures: list[BaseException] = []
    made = {name: object() for name in ("a", "b", "c")}

    def ask(name: str) -> None:
        # A shape hashes in Python, as the kept keys' _Near does: a thread may be switched
        # out while the cache is being read.
        key = ("near", Shape(name))
        try:
            for _ in range(20_000):
                assert finding._built(key, lambda: made[name]) is made[name]  # type: ignore[arg-type]
        except BaseException as error:  # noqa: BLE001 - reported below, after the threads end
            failures.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as the interpreter allows
    try:
        threads = [threading.Thread(target=ask, args=(name,)) for name in made]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures, failures[:3]
