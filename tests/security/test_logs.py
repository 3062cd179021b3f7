"""No secret and no contact value ever reaches the application's logs: a whole working
day (sign-ins right and wrong, tokens, contacts added and changed, an upload, the API)
runs with every logger at DEBUG, and none of them appears in any record."""

from __future__ import annotations

import io
import logging

import pyotp
import pytest

from floorplans.db import db
from floorplans.models import Role
from floorplans.services import accounts
from tests.conftest import PASSWORD, Browser

SECRETS = {
    "new password": "brand new secret passphrase",
    "phone": "416-555-0142",
    "other phone": "905-555-0177",
    "contact e-mail": "amira.private@example.org",
    "typed in the e-mail field": "Hunter2-Secret",
}


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger and everything under it
    # What an operator turns on to debug: every SQL statement (its values must stay hidden).
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    return caplog


def test_a_day_of_work_leaks_nothing_into_the_logs(app, every_log, make_user, make_building) -> None:
    app.logger.setLevel(logging.DEBUG)
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = Browser(app.test_client())
    browser.post("/login", {"email": SECRETS["typed in the e-mail field"], "password": PASSWORD})
    browser.post("/login", {"email": partner.email, "password": "wrong " + PASSWORD})
    browser.login(partner)
    browser.post(f"/portal/buildings/{building.id}/contacts", {
        "name": "Amira", "phone": SECRETS["phone"], "email": SECRETS["contact e-mail"],
    })
    contact_id = building.contacts[0].id if building.contacts else 1
    browser.post(f"/portal/buildings/{building.id}/contacts/{contact_id}", {
        "name": "Amira", "phone": SECRETS["other phone"], "email": SECRETS["contact e-mail"],
    })
    page = browser.get("/account/two-factor").get_data(as_text=True)
    key = page.split('class="totp-key"><code>')[1].split("</code>")[0].replace(" ", "")
    code = pyotp.TOTP(key).now()
    browser.post("/account/two-factor", {"action": "enable", "code": code})
    browser.post("/account/password", {"current_password": PASSWORD, "new_password": SECRETS["new password"],
                                       "confirm_password": SECRETS["new password"]})
    token = accounts.create_token(partner, "logs test")
    db.session.commit()
    client = app.test_client()
    client.get(f"/api/v1/buildings/{building.id}", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/v1/buildings", headers={"Authorization": f"Bearer {token}x"})
    client.post("/api/v1/buildings/999999/plans", headers={"Authorization": f"Bearer {token}"},
                data={"file": (io.BytesIO(b"not a pdf"), "x.pdf")}, content_type="multipart/form-data")

    secrets = {**SECRETS, "TOTP key": key, "TOTP code": code, "token": token, "session secret": app.secret_key}
    assert every_log.records, "nothing was logged at all: the capture is not working"
    logged = "\n".join(
        record.getMessage() + (record.exc_text or "") + repr(getattr(record, "args", ""))
        for record in every_log.records
    )
    leaked = [name for name, value in secrets.items() if value and str(value) in logged]
    assert leaked == []
