"""The password policy (OWASP ASVS 2.1, NIST SP 800-63B) wherever a password is set: one's
own change, an administrator's create and reset, ``flask users create``; and the password
form's limit on wrong current passwords, audited."""

from __future__ import annotations

import pytest

from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Role, User
from floorplans.services import accounts, passwords
from tests.conftest import PASSWORD, Browser
from tests.security.conftest import audit_events

ADVICE = "Choose a longer phrase of several unrelated words"
STRONG = "velvet harbour quarry lantern"


def change(browser: Browser, current: str, new: str):  # type: ignore[no-untyped-def]
    return browser.post("/account/password", {"current_password": current, "new_password": new,
                                              "confirm_password": new})


@pytest.fixture
def miriam(make_user, make_organisation) -> User:
    return make_user(Role.PARTNER, organisation=make_organisation("Beth Shalom Congregation", "Jewish"),
                     email="miriam.cohen@bethshalom.example", name="Miriam Cohen")


@pytest.mark.parametrize(("new", "problem"), [
    ("password1234", "This is a very common password."),
    ("aaaaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
    (" " * 12, "too easy to guess"),
    ("short one", "at least 12 characters"),
    ("miriam.cohen@bethshalom.example", "must not be the account's e-mail address"),
    ("Miriam.Cohen@BethShalom.example ", "must not be the account's e-mail address"),
    ("miriam.cohen@bethshalom.example2024", "too easy to guess"),
    ("Beth Shalom Congregation 2024", "Without the account's e-mail address, name and congregation's name"),
    ("miriam cohen 1975 1975", "Without the account's e-mail address"),
    ("floorplans floorplans!", "too easy to guess"),  # the service's own name
    (PASSWORD, "must not be the current password"),
    ("x" * 129, "at most 128 characters"),
])
def test_own_change_refuses_weak_passwords_and_says_what_to_do(app, browser_for, miriam: User, new: str,
                                                               problem: str) -> None:
    browser = browser_for(miriam)
    before = miriam.password_hash
    response = change(browser, PASSWORD, new)
    assert response.status_code == 422
    text = response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")
    assert problem in text
    if "at most" not in problem:
        assert ADVICE in text
    db.session.refresh(miriam)
    assert miriam.password_hash == before


def test_any_characters_and_up_to_128_of_them_are_accepted(app, browser_for, miriam: User) -> None:
    browser = browser_for(miriam)
    current = PASSWORD
    for new in (
        "mañana über cœur façade 🙂 лампа",  # accents, emoji, Cyrillic
        "   spaces   around  velvet harbour   ",
        "Tr0ub4dor&3 is not a phrase, but this sentence about a blue heron at dawn is long enough to be one"
        + " and even a little longer",
        ("a blue heron stands in the cold river at dawn while the ferry horn sounds twice over the "
         "quiet grey harbour")[:128],
    ):
        assert len(new) <= 128
        response = change(browser, current, new)
        assert response.status_code == 302, (new, response.get_data(as_text=True)[:2000])
        assert Browser(app.test_client()).login(miriam.email, new).status_code == 302
        current = new
        browser = Browser(app.test_client())
        browser.login(miriam.email, current)


def test_administrators_create_and_reset_only_good_passwords(app, browser_for, make_user) -> None:
    admin = browser_for(make_user(Role.ADMIN))
    refused = admin.post("/admin/users", {"email": "new.officer@example.org", "role": "officer",
                                          "name": "New Officer", "password": "new.officer@example.org"})
    assert refused.status_code == 422 and "e-mail address" in refused.get_data(as_text=True).replace("&#39;", "'")
    refused = admin.post("/admin/users", {"email": "new.officer@example.org", "role": "officer",
                                          "password": "password1234"})
    assert refused.status_code == 422 and ADVICE in refused.get_data(as_text=True)
    assert db.session.query(User).filter_by(email="new.officer@example.org").count() == 0
    assert admin.post("/admin/users", {"email": "new.officer@example.org", "role": "officer",
                                       "password": STRONG}).status_code == 302

    officer = db.session.query(User).filter_by(email="new.officer@example.org").one()
    form = {"role": "officer", "name": "", "active": "1"}
    for weak in ("aaaaaaaaaaaa", STRONG):  # too easy; the current one
        response = admin.post(f"/admin/users/{officer.id}", {**form, "new_password": weak})
        assert response.status_code == 422, weak
    assert admin.post(f"/admin/users/{officer.id}", {**form, "new_password": "copper kettle meadow ribbon"}
                      ).status_code == 302
    assert Browser(app.test_client()).login(officer.email, "copper kettle meadow ribbon").status_code == 302


def test_flask_users_create_follows_the_policy(app, runner) -> None:
    result = runner.invoke(args=["users", "create", "--email", "o@example.org", "--role", "officer",
                                 "--password-stdin"], input="password1234\n")
    assert result.exit_code == 1 and "too easy to guess" in result.output and ADVICE in result.output
    result = runner.invoke(args=["users", "create", "--email", "o@example.org", "--role", "officer"])
    assert result.exit_code == 0, result.output
    generated = result.output.split("Password: ")[1].strip()
    passwords.check(generated, email="o@example.org")  # what it prints passes the policy itself
    for _ in range(50):
        passwords.check(accounts.generate_password())


def test_the_policy_in_numbers() -> None:
    assert (passwords.MIN_LENGTH, passwords.MAX_LENGTH, passwords.MIN_SCORE) == (12, 128, 3)
    with pytest.raises(InvalidInput):
        passwords.check("Beth Shalom Congregation 2024", context=["Beth Shalom Congregation"])
    passwords.check("Beth Shalom Congregation 2024")  # strong to a stranger: the context is what refuses it


def test_wrong_current_passwords_lock_the_form_and_are_audited(app, browser_for, make_user, clock) -> None:
    user = make_user(Role.OFFICER)
    browser = browser_for(user)
    for n in range(4):
        response = change(browser, f"my guess number {n}", STRONG)
        assert response.status_code == 422 and "is not your current password" in response.get_data(as_text=True)
    fifth = change(browser, "my guess number 4", STRONG)
    assert fifth.status_code == 422 and "this form is locked for 15 minutes" in fifth.get_data(as_text=True)
    failed = audit_events("password.change_failed")
    assert [e.detail["reason"] for e in failed] == ["wrong password"] * 5 + ["form locked"]
    assert {(e.target_id, e.actor_id) for e in failed} == {(user.id, user.id)}
    assert "my guess" not in repr([e.detail for e in audit_events()])

    locked = change(browser, PASSWORD, STRONG)  # the right one, while locked
    assert locked.status_code == 422 and "locked" in locked.get_data(as_text=True)
    assert audit_events("password.change_failed")[-1].detail["reason"] == "form locked"
    # The same counter guards turning two-factor off (both ask the current password).
    clock.advance(minutes=15, seconds=1)
    assert change(browser, PASSWORD, STRONG).status_code == 302
    assert audit_events("password.change")[-1].target_id == user.id


@pytest.mark.real_password_hashes
def test_the_app_hashes_passwords_with_scrypt(app, browser_for, make_user) -> None:
    """What every other test replaces with a cheap hash (tests/conftest.py): accounts made,
    changed and reset by the app are hashed with scrypt, and an unknown address is checked
    against a scrypt hash too (its answer takes as long as a known one's)."""
    from floorplans.services import accounts

    admin = browser_for(make_user(Role.ADMIN))
    assert admin.post("/admin/users", {"email": "new.officer@example.org", "role": "officer",
                                       "password": STRONG}).status_code == 302
    made = db.session.query(User).filter_by(email="new.officer@example.org").one()
    assert made.password_hash.startswith("scrypt:")
    accounts.set_password(made, STRONG + " again")
    assert made.password_hash.startswith("scrypt:")
    assert accounts._DUMMY_HASH.startswith("scrypt:")
