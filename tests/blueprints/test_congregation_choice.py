"""The congregation field of the administrators' forms (a new account, an account, an
invitation, a new building): a list of them all while they are few, a typed name with its
matches offered as the administrator types once they are many (a province's ~2,000), and
the typed name resolved by the server when no choice came with it (one, none, several)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import AccountLink, Building, Organisation, Role, User
from floorplans.services import congregation_choice
from tests.conftest import Browser

STRONG = "amber-otter-lantern-97"
FORMS = ("/admin/users", "/admin/invitations", "/portal/buildings/new")


def _page(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _field_value(page: str, name: str) -> str | None:
    """The value of the form's input called ``name`` (None: there is no such input)."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    if found is None:
        return None
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


@pytest.fixture
def admin(make_user, browser_for) -> Browser:
    browser: Browser = browser_for(make_user(Role.ADMIN))
    return browser


@pytest.fixture
def many(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment past the list's size: two congregations are already "many"."""
    monkeypatch.setattr(congregation_choice, "LISTED_AT_MOST", 1)


@pytest.fixture
def province(make_organisation, make_building) -> dict[str, Organisation]:
    """Congregations whose names a province really has: two St. Mary's (one spelt "Saint")
    in two cities, a French one with accents, and a Grace Church."""
    made = {
        "grace": make_organisation("Grace Church", "Anglican"),
        "st_marys": make_organisation("St. Mary's", "Catholic"),
        "saint_marys": make_organisation("Saint Mary's", "Coptic Orthodox"),
        "remi": make_organisation("Église Saint-Rémi", "Catholic"),
        "shalom": make_organisation("Beth Shalom Congregation", "Jewish"),
    }
    make_building(made["st_marys"], city="Oakville")
    make_building(made["saint_marys"], city="Milton")
    make_building(made["saint_marys"], city="Burlington")
    return made


def _add_congregations(count: int, start: int = 0) -> None:
    db.session.add_all([Organisation(name=f"Congregation {n:04d}", faith_tradition="Muslim")
                        for n in range(start, start + count)])
    db.session.commit()


def _account(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# --- Few or many: a list, or a typed name -------------------------------------------------------


@pytest.mark.parametrize("url", FORMS)
def test_a_town_s_few_congregations_are_a_list_and_a_province_s_are_typed(admin: Browser, url: str) -> None:
    """At the constant's size, 100, the forms still list every congregation; at 101 they
    offer a typed field, which names none of them until the administrator types."""
    _add_congregations(100)
    listed = _page(admin.get(url))
    assert re.search(r'<select id="(f-)?organisation_id" name="organisation_id"', listed)
    assert listed.count("<option value=") >= 100 and "Congregation 0099" in listed
    assert 'name="organisation_name"' not in listed and "congregation-choice.js" not in listed

    _add_congregations(1, start=100)  # the 101st
    typed = _page(admin.get(url))
    assert '<select id="organisation_id"' not in typed and '<select id="f-organisation_id"' not in typed
    assert _field_value(typed, "organisation_name") == "" and _field_value(typed, "organisation_id") == ""
    assert "Congregation 00" not in typed  # no list of a hundred names in the page
    assert "js/congregation-choice.js" in typed and "css/congregation-choice.css" in typed
    assert 'data-choices-url="/admin/congregations/choices"' in typed
    # The field keeps its label (the label's "for" names the typed field).
    label_for = re.search(r'<label for="([^"]+)">Congregation', typed)
    assert label_for is not None and f'id="{label_for.group(1)}" name="organisation_name"' in typed


def test_the_list_s_size_is_the_named_constant(admin: Browser, make_organisation, monkeypatch) -> None:
    make_organisation("Grace Church", "Anglican")
    make_organisation("Beth Shalom Congregation", "Jewish")
    monkeypatch.setattr(congregation_choice, "LISTED_AT_MOST", 2)
    assert '<select id="organisation_id"' in _page(admin.get("/admin/users"))
    monkeypatch.setattr(congregation_choice, "LISTED_AT_MOST", 1)
    assert 'name="organisation_name"' in _page(admin.get("/admin/users"))


def test_a_partner_adding_a_building_is_offered_no_congregation(make_user, browser_for, many, province) -> None:
    partner = browser_for(make_user(Role.PARTNER, province["grace"]))
    page = _page(partner.get("/portal/buildings/new"))
    assert 'name="organisation_name"' not in page and 'name="organisation_id"' not in page


# --- Editing shows the current congregation -----------------------------------------------------


def test_editing_an_account_shows_its_congregation_s_name(admin: Browser, make_user, many, province) -> None:
    partner = make_user(Role.PARTNER, province["remi"])
    page = _page(admin.get(f"/admin/users/{partner.id}"))
    assert _field_value(page, "organisation_name") == "Église Saint-Rémi"
    assert _field_value(page, "organisation_id") == str(province["remi"].id)
    officer = make_user(Role.OFFICER)
    assert _field_value(_page(admin.get(f"/admin/users/{officer.id}")), "organisation_name") == ""


def test_editing_a_building_names_its_congregation(admin: Browser, make_building, many, province) -> None:
    building = make_building(province["shalom"])
    page = _page(admin.get(f"/portal/buildings/{building.id}/edit"))
    assert f'Congregation: <a href="/admin/organisations/{province["shalom"].id}">Beth Shalom Congregation</a>' in page


def test_saving_an_account_unchanged_keeps_its_congregation(admin: Browser, make_user, many, province) -> None:
    partner = make_user(Role.PARTNER, province["st_marys"])
    saved = admin.post(f"/admin/users/{partner.id}", {
        "name": "Renamed", "role": "partner", "active": "1",
        "organisation_id": str(province["st_marys"].id), "organisation_name": "St. Mary's"})
    assert saved.status_code == 302, _page(saved)
    assert _account(partner.email).organisation_id == province["st_marys"].id  # type: ignore[union-attr]


# --- The search the field asks as the administrator types ---------------------------------------


def _choices(browser: Browser, query: str) -> dict[str, Any]:
    response = browser.get("/admin/congregations/choices", query_string={"q": query})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def test_the_search_finds_names_by_their_words_accents_and_case_aside(admin: Browser, province) -> None:
    def names(query: str) -> list[str]:
        return [c["name"] for c in _choices(admin, query)["congregations"]]

    assert names("gra") == ["Grace Church"]
    assert names("GRACE ch") == ["Grace Church"]
    assert names("church") == ["Grace Church"]  # any word of the name, not only the first
    assert names("eglise remi") == ["Église Saint-Rémi"]
    assert names("ÉGLISE") == ["Église Saint-Rémi"]
    # "St." and "Saint" are one word; "sain" finds the spelt-out ones as it is typed.
    assert sorted(names("saint mar")) == ["Saint Mary's", "St. Mary's"]
    assert sorted(names("st mary")) == ["Saint Mary's", "St. Mary's"]
    assert names("sain") == ["Saint Mary's", "Église Saint-Rémi"]  # those whose name starts so first
    assert names("st marys") == names("St. Mary's") == ["Saint Mary's", "St. Mary's"]
    assert names("ace") == []  # the beginning of a word, not its middle
    assert names("zzz") == []


def test_each_match_says_enough_to_tell_two_of_a_name_apart(admin: Browser, province) -> None:
    found = {c["name"]: c for c in _choices(admin, "mary")["congregations"]}
    assert found["St. Mary's"] == {"id": province["st_marys"].id, "name": "St. Mary's", "faith_tradition": "Catholic",
                                   "cities": ["Oakville"], "detail": "Catholic; Oakville"}
    assert found["Saint Mary's"]["detail"] == "Coptic Orthodox; Burlington, Milton"
    assert found["Saint Mary's"]["cities"] == ["Burlington", "Milton"]


def test_the_search_answers_twenty_at_most_names_starting_with_the_query_first(
    admin: Browser, make_organisation
) -> None:
    _add_congregations(45)
    make_organisation("Al-Noor Congregation of Peace", "Muslim")
    answer = _choices(admin, "congregation")
    names = [c["name"] for c in answer["congregations"]]
    assert len(names) == congregation_choice.MATCHES_AT_MOST and answer["more"] is True
    assert names == [f"Congregation {n:04d}" for n in range(20)]  # by name; those starting with it first
    narrower = _choices(admin, "congregation 004")
    assert [c["name"] for c in narrower["congregations"]] == [f"Congregation 004{n}" for n in range(5)]
    assert narrower["more"] is False
    assert [c["name"] for c in _choices(admin, "peace")["congregations"]] == ["Al-Noor Congregation of Peace"]
    everything = _choices(admin, "")
    assert len(everything["congregations"]) == 20 and everything["more"] is True
    assert everything["congregations"][0]["name"] == "Al-Noor Congregation of Peace"  # by name, accents aside


@pytest.mark.parametrize("role", [Role.OFFICER, Role.PARTNER, Role.PLANNER])
def test_only_an_administrator_may_search_the_congregations(
    role: Role, make_user, browser_for, province
) -> None:
    refused = browser_for(make_user(role)).get("/admin/congregations/choices?q=gra")
    assert refused.status_code == 403
    assert "Grace Church" not in refused.get_data(as_text=True)


def test_someone_signed_out_is_sent_to_sign_in(browser: Browser, province) -> None:
    response = browser.get("/admin/congregations/choices?q=gra")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/congregations/choices")


# --- A typed name without a choice: the server finds the congregation ---------------------------


def _new_partner(admin: Browser, typed: str, chosen_id: int | str = "", email: str = "new@example.org") -> Any:
    return admin.post("/admin/users", {"email": email, "name": "Typed Person", "role": "partner",
                                       "password": STRONG, "organisation_id": str(chosen_id),
                                       "organisation_name": typed})


def test_a_typed_name_that_is_one_congregation_s_is_that_one(admin: Browser, many, province) -> None:
    created = _new_partner(admin, "  grace CHURCH ")
    assert created.status_code == 302, _page(created)
    assert _account("new@example.org").organisation_id == province["grace"].id  # type: ignore[union-attr]
    # Accents, case and "St." for "Saint" aside (floorplans.search.normalise).
    created = _new_partner(admin, "eglise st-remi", email="remi@example.org")
    assert created.status_code == 302, _page(created)
    assert _account("remi@example.org").organisation_id == province["remi"].id  # type: ignore[union-attr]


def test_a_typed_name_that_is_no_congregation_s_is_refused_and_nothing_typed_is_lost(
    admin: Browser, many, province
) -> None:
    refused = _new_partner(admin, "Grase Church")
    assert refused.status_code == 422
    page = _page(refused)
    assert "Congregation: no congregation is named “Grase Church”. Check the spelling" in page
    assert "added first (Administration, Congregations)" in page
    assert _field_value(page, "organisation_name") == "Grase Church"
    assert _field_value(page, "email") == "new@example.org" and _field_value(page, "name") == "Typed Person"
    assert 'value="partner" selected' in page
    assert _account("new@example.org") is None


def test_a_typed_name_of_several_congregations_lists_them_and_asks_for_a_choice(
    admin: Browser, many, province
) -> None:
    refused = _new_partner(admin, "saint mary's")
    assert refused.status_code == 422
    page = _page(refused)
    assert ("Congregation: 2 congregations are named “saint mary's”: Saint Mary's (Coptic Orthodox; Burlington, "
            "Milton); St. Mary's (Catholic; Oakville). Choose the one you mean from the list" in page)
    assert _field_value(page, "organisation_name") == "saint mary's"
    assert _account("new@example.org") is None
    # The list's choice (the hidden id beside the same text) settles it.
    chosen = _new_partner(admin, "saint mary's", province["st_marys"].id)
    assert chosen.status_code == 302, _page(chosen)
    assert _account("new@example.org").organisation_id == province["st_marys"].id  # type: ignore[union-attr]


def test_a_choice_whose_text_was_changed_after_is_the_typed_name_s(admin: Browser, many, province) -> None:
    """The hidden id of an earlier choice does not outvote the text typed after it."""
    created = _new_partner(admin, "Beth Shalom Congregation", province["grace"].id)
    assert created.status_code == 302, _page(created)
    assert _account("new@example.org").organisation_id == province["shalom"].id  # type: ignore[union-attr]


def test_an_emptied_field_is_no_congregation(admin: Browser, make_user, many, province) -> None:
    partner = make_user(Role.PARTNER, province["grace"])
    refused = admin.post(f"/admin/users/{partner.id}", {
        "name": "", "role": "partner", "active": "1", "organisation_id": str(province["grace"].id),
        "organisation_name": "  "})
    assert refused.status_code == 422
    assert "is required for a partner" in _page(refused)
    officer = admin.post(f"/admin/users/{partner.id}", {
        "name": "", "role": "officer", "active": "1", "organisation_id": str(province["grace"].id),
        "organisation_name": ""})
    assert officer.status_code == 302, _page(officer)
    assert _account(partner.email).organisation_id is None  # type: ignore[union-attr]


def test_an_account_moves_to_the_congregation_typed(admin: Browser, make_user, many, province) -> None:
    partner = make_user(Role.PARTNER, province["grace"])
    refused = admin.post(f"/admin/users/{partner.id}", {
        "name": "Kept Name", "role": "partner", "active": "1", "organisation_id": str(province["grace"].id),
        "organisation_name": "Beth Shalom Congregatio"})
    assert refused.status_code == 422
    page = _page(refused)
    assert "no congregation is named “Beth Shalom Congregatio”" in page
    assert _field_value(page, "organisation_name") == "Beth Shalom Congregatio" and 'value="Kept Name"' in page
    assert _account(partner.email).organisation_id == province["grace"].id  # type: ignore[union-attr]
    moved = admin.post(f"/admin/users/{partner.id}", {
        "name": "Kept Name", "role": "partner", "active": "1", "organisation_id": str(province["grace"].id),
        "organisation_name": "beth shalom congregation"})
    assert moved.status_code == 302, _page(moved)
    assert _account(partner.email).organisation_id == province["shalom"].id  # type: ignore[union-attr]


def test_an_invitation_goes_to_the_congregation_typed(admin: Browser, many, province) -> None:
    refused = admin.post("/admin/invitations", {"email": "invitee@example.org", "name": "Invitee", "role": "partner",
                                                "organisation_id": "", "organisation_name": "St Marys"})
    assert refused.status_code == 422
    page = _page(refused)
    assert "2 congregations are named “St Marys”" in page and _field_value(page, "organisation_name") == "St Marys"
    assert db.session.scalar(select(AccountLink)) is None
    sent = admin.post("/admin/invitations", {"email": "invitee@example.org", "name": "Invitee", "role": "partner",
                                             "organisation_id": "", "organisation_name": "Église Saint-Rémi"})
    assert sent.status_code == 302, _page(sent)
    assert _account("invitee@example.org").organisation_id == province["remi"].id  # type: ignore[union-attr]


def test_an_administrator_adds_a_building_to_the_congregation_typed(admin: Browser, many, province) -> None:
    def building(typed: str) -> dict[str, str]:
        return {"organisation_id": "", "organisation_name": typed, "name": "Typed Hall", "street": "12 King Street",
                "city": "Oakville"}

    refused = admin.post("/portal/buildings/new", building("Grace Chapel"))
    assert refused.status_code == 422
    page = _page(refused)
    assert "Congregation: no congregation is named “Grace Chapel”" in page
    assert _field_value(page, "organisation_name") == "Grace Chapel" and _field_value(page, "name") == "Typed Hall"
    assert _field_value(page, "street") == "12 King Street"
    assert db.session.scalar(select(Building).where(Building.name == "Typed Hall")) is None
    empty = admin.post("/portal/buildings/new", building(""))
    assert empty.status_code == 422 and "choose the congregation that owns this building" in _page(empty)
    added = admin.post("/portal/buildings/new", building("GRACE church"))
    assert added.status_code == 302, _page(added)
    added_building = db.session.scalar(select(Building).where(Building.name == "Typed Hall"))
    assert added_building is not None and added_building.organisation_id == province["grace"].id


def test_the_list_s_choice_still_works_as_before(admin: Browser, province) -> None:
    """A town's deployment: the <select> posts an id and no typed name."""
    created = admin.post("/admin/users", {"email": "listed@example.org", "role": "partner", "password": STRONG,
                                          "organisation_id": str(province["remi"].id)})
    assert created.status_code == 302, _page(created)
    assert _account("listed@example.org").organisation_id == province["remi"].id  # type: ignore[union-attr]
    refused = admin.post("/admin/users", {"email": "short@example.org", "role": "partner", "password": "short",
                                          "organisation_id": str(province["grace"].id)})
    assert refused.status_code == 422
    assert f'<option value="{province["grace"].id}" selected>Grace Church</option>' in _page(refused)
