"""Bulk import of buildings and partners from CSV (services.imports, ``flask buildings
import``): messy real files, idempotent re-runs, each refused line with its number and why."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from floorplans.db import db
from floorplans.errors import InvalidInput, NotFound
from floorplans.models import AuditEvent, Building, Organisation, Role, User
from floorplans.services import imports
from tests.import_data import messy_csv

HEADER = "name,street,city,region,postal_code,latitude,longitude,organisation,faith_tradition,partner_email\n"


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _import(data: bytes, **kwargs: Any) -> imports.ImportReport:
    report = imports.import_buildings(data, filename="places.csv", **kwargs)
    db.session.commit()
    return report


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8-sig", ";"), ("cp1252", ","), ("utf-8", "\t")])
def test_a_messy_open_data_file_imports_and_a_second_run_changes_nothing(
    app: Flask, encoding: str, delimiter: str
) -> None:
    data, expected = messy_csv(150, encoding=encoding, delimiter=delimiter)
    report = _import(data)

    assert [line.number for line in report.of("rejected")] == expected.rejected
    assert report.counts["created"] == expected.buildings == _count(Building)
    assert _count(Organisation) == expected.organisations == len(report.organisations_created)
    assert report.unknown_columns == ["Ward", "OBJECTID"]
    assert sorted(report.columns) == sorted(imports.COLUMNS)
    partners = db.session.scalars(select(User).where(User.role == Role.PARTNER.value)).all()
    assert len(partners) == expected.partners
    assert all(p.password_hash == imports.NO_PASSWORD for p in partners)  # nobody can sign in yet
    # Accents came through whatever the encoding; decimal commas were read as decimals.
    eglise = db.session.scalar(select(Building).where(Building.name == "Église Saint-Rémi"))
    assert eglise is not None and eglise.city == "Montréal" and 45 <= eglise.latitude <= 46
    bahai = db.session.scalar(select(Organisation).where(Organisation.name == "Congrégation Bahá'í Centre"))
    assert bahai.faith_tradition == "Bahá'í"

    before = _count(AuditEvent)
    again = _import(data)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": expected.buildings,
                            "rejected": len(expected.rejected)}
    assert _count(Building) == expected.buildings
    assert _count(AuditEvent) == before + 1  # the import's own event, and nothing else


def test_each_rejected_line_says_its_number_and_why(app: Flask, make_organisation, make_user) -> None:
    other = make_organisation("Grace Church", "Christian")
    make_user(Role.PARTNER, organisation=other, email="taken@example.org")
    data = (HEADER
            + "Good Temple,1 Elm St,Oakville,ON,,,,,Hindu,\n"
            + "\n"
            + "Far Chapel,2 Elm St,Oakville,ON,,91,-79,,Christian,\n"
            + "Odd Temple,3 Elm St,Oakville,ON,,,,,Pastafarian,\n"
            + "Mail Mosque,4 Elm St,Oakville,ON,,,,,Muslim,nobody-at-example\n"
            + ",5 Elm St,Oakville,ON,,,,,Sikh,\n"
            + "Taken Church,6 Elm St,Oakville,ON,,,,,Christian,taken@example.org\n"
            + '"Long ' + "x" * 300 + '",7 Elm St,Oakville,ON,,,,,Jewish,\n'
            + "Half Point,8 Elm St,Oakville,ON,,43.5,,,Muslim,\n"
            + "No Tradition,9 Elm St,Oakville,ON,,,,,,\n"
            + "Good Temple,1 Elm Street,OAKVILLE,ON,,,,,Hindu,\n"
            + "Too Many,10 Elm St,Oakville,ON,,,,,Hindu,,surplus\n").encode()
    report = _import(data)
    rejected = {line.number: " ".join(line.reasons) for line in report.of("rejected")}
    assert [line.number for line in report.of("created")] == [2]
    assert sorted(rejected) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert "latitude: must be at most 90" in rejected[4]
    assert "faith tradition: must be one of" in rejected[5]
    assert "partner email: is not an e-mail address" in rejected[6]
    assert "name: is required" in rejected[7]
    assert "taken@example.org" not in rejected[8] and "already belongs to an account of Grace Church" in rejected[8]
    assert "name: is too long (305 characters, at most 200)" in rejected[9]
    assert "longitude: is needed too" in rejected[10]
    assert "faith tradition: is required. (needed for a new organisation)" in rejected[11]
    assert "same building as line 2" in rejected[12]
    assert "more than the header's columns" in rejected[13]
    assert _count(Building) == 1


def test_lines_match_records_by_organisation_street_and_city_as_addresses_are_compared(
    app: Flask, make_organisation, make_building
) -> None:
    congregation = make_organisation("St. Andrew's", "Christian")
    building = make_building(congregation, name="St. Andrew's Church", street="12 Main Street West",
                             city="Montréal", postal_code="H2X 1K4", latitude=45.5, longitude=-73.6)
    data = (HEADER
            # The same door, spelt otherwise; an empty postal code keeps the record's.
            + "St. Andrew's Church,12 main st w,MONTREAL,QC,,45.5,-73.6,st. andrew's,,\n").encode()
    report = _import(data)
    assert report.counts == {"created": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    assert report.lines[0].changes == ["province or state: ON → QC"]
    db.session.refresh(building)
    assert (building.region, building.postal_code, building.street) == ("QC", "H2X 1K4", "12 Main Street West")
    assert _import(data).counts["unchanged"] == 1
    other_faith = _import(data.replace(b"st. andrew's,,", b"st. andrew's,Muslim,"))
    assert other_faith.counts["unchanged"] == 1 and congregation.faith_tradition == "Christian"
    assert other_faith.lines[0].notes == ["St. Andrew's is Christian on record; the file's 'Muslim' is not applied "
                                          "(change it on the congregation's page)"]
    # Another street is another building of the same congregation.
    other = _import((HEADER + "St. Andrew's Hall,14 Main St W,Montréal,QC,,,,St. Andrew's,,\n").encode())
    assert other.counts["created"] == 1 and other.organisations_created == []
    assert _count(Organisation) == 1
    # The same door under another congregation's name is another building, and the report says so.
    moved = _import((HEADER + "St. Andrew's Church,12 Main Street W,Montreal,QC,,,,Paroisse Saint-André,Christian,\n")
                    .encode())
    assert moved.counts["created"] == 1
    assert moved.lines[0].notes == ["St. Andrew's has a building at this address: check it is not the same place "
                                    "(a line matches a building of its own organisation only)"]


def test_lines_without_an_organisation_each_get_their_own(app: Flask) -> None:
    data = (HEADER
            + "St. Mary's Church,1 King St,Oakville,ON,,,,,Christian,\n"
            + "St. Mary's Church,50 Queen St,Toronto,ON,,,,,Christian,\n"
            + "Masjid Al-Noor,9 Elm St,Oakville,ON,,,,,Muslim,imam@example.org\n").encode()
    report = _import(data)
    assert sorted(report.organisations_created) == [
        "Masjid Al-Noor", "St. Mary's Church (1 King St, Oakville)", "St. Mary's Church (50 Queen St, Toronto)"]
    partner = db.session.scalar(select(User).where(User.email == "imam@example.org"))
    assert partner.role == Role.PARTNER.value and partner.organisation.name == "Masjid Al-Noor"
    assert _import(data).counts["unchanged"] == 3


@pytest.mark.parametrize(("data", "message"), [
    (b"name;city;organisation\nA;B;C\n", "has no 'street' column"),
    (b"", "is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00", "is a spreadsheet"),
    (b"name,street,name,city\n", "names the column 'name' twice"),
    (b"name,street,city\n\x81\x8d\x8f,\xff\xfe,x\n", "cannot be read as text"),
])
def test_a_file_that_cannot_be_imported_is_refused_saying_what_to_do(app: Flask, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        imports.import_buildings(data)
    assert message in refused.value.fields["file"]


def test_a_file_over_the_limits_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "MAX_LINES", 5)
    data, _ = messy_csv(10)
    with pytest.raises(InvalidInput, match="more than 5 lines"):
        imports.import_buildings(data)
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    with pytest.raises(InvalidInput, match="at most 0 MB"):
        imports.import_buildings(data)


def test_the_import_is_audited_with_its_counts_and_its_creations(app: Flask, make_user) -> None:
    admin = make_user(Role.ADMIN)
    data = (HEADER + "Good Temple,1 Elm St,Oakville,ON,,,,,Hindu,priest@example.org\n"
            + "Bad,2 Elm St,Oakville,ON,,,,,Nope,\n").encode()
    _import(data, by=admin)
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["organisation.create", "building.create", "account.create",
                                          "buildings.import"]
    summary = events[-1]
    assert summary.actor_id == admin.id
    assert summary.detail.items() >= {"file": "places.csv", "lines": 2, "created": 1, "rejected": 1,
                                      "rejected_lines": [3], "organisations_created": 1,
                                      "partners_created": 1}.items()


# --- the command ------------------------------------------------------------------------

def test_the_command_dry_run_changes_nothing_then_imports_with_a_report(app: Flask, runner, tmp_path) -> None:
    data, expected = messy_csv(60)
    path = tmp_path / "places.csv"
    path.write_bytes(data)

    dry = runner.invoke(args=["buildings", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{expected.buildings} created" in dry.output and "Dry run: nothing was changed." in dry.output
    assert f"line {expected.rejected[0]}: rejected:" in dry.output
    assert "ignored unknown column(s): Ward, OBJECTID" in dry.output
    assert _count(Building) == 0 and _count(AuditEvent) == 0

    real = runner.invoke(args=["buildings", "import", str(path), "--invite"])
    assert real.exit_code == 0, real.output
    total = expected.buildings + len(expected.rejected)  # the repeated row and the bad lines are lines too
    assert f"  7 of {total} lines" in real.output and f"  {total} of {total} lines" in real.output  # progress
    assert _count(Building) == expected.buildings
    again = runner.invoke(args=["buildings", "import", str(path)])
    assert f"0 created, 0 updated, {expected.buildings} unchanged" in again.output


def test_the_command_refuses_an_unreadable_file(app: Flask, runner, tmp_path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"Name;City\nA;B\n")
    result = runner.invoke(args=["buildings", "import", str(path)])
    assert result.exit_code == 1
    assert "error: list.csv has no 'street' column" in result.output


def test_the_command_says_what_to_check(app: Flask, runner, tmp_path, make_organisation, make_building) -> None:
    make_building(make_organisation("Grace Church", "Christian"), street="5 Elm St", city="Oakville")
    path = tmp_path / "list.csv"
    path.write_bytes((HEADER + "Grace Chapel,5 Elm Street,Oakville,ON,,,,Grace Fellowship,Christian,\n").encode())
    result = runner.invoke(args=["buildings", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 2: check: Grace Church has a building at this address" in result.output
    path.write_bytes((HEADER + "Grace Chapel,5 Elm Street,Oakville,ON,L6J 1H8,,,Grace Fellowship,,\n").encode())
    result = runner.invoke(args=["buildings", "import", str(path), "--dry-run"])
    assert "line 2: update Grace Chapel: postal code: (empty) → L6J 1H8" in result.output


def test_the_example_of_docs_import_md_imports_as_it_says(app: Flask) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    example = re.search(r"```csv\n(.*?)```", docs, re.S).group(1)
    report = _import(example.encode("utf-8"))
    assert report.counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert report.unknown_columns == ["Ward"] and report.delimiter == "semicolon"
    eglise = db.session.scalar(select(Building).where(Building.name == "Église Saint-Rémi"))
    assert (eglise.latitude, eglise.longitude) == (45.5101, -73.562)
    assert eglise.organisation.name == "Paroisse Saint-Rémi"
    mosque = db.session.scalar(select(Building).where(Building.name == "Masjid Al-Noor"))
    assert (mosque.organisation.name, mosque.organisation.faith_tradition) == ("Masjid Al-Noor", "Muslim")


def test_uploads_nobody_confirmed_are_forgotten_after_a_week(app: Flask, storage_backend: str) -> None:
    from floorplans.db import utcnow

    now = utcnow()
    old = imports.stage(b"name,street,city\n", "old.csv", now=now - imports.KEPT_FOR - dt.timedelta(hours=1))
    recent = imports.stage(b"name,street,city\n", "recent.csv", now=now - dt.timedelta(days=1))
    assert imports.staged(old) and imports.read_state(old)["filename"] == "old.csv"
    imports.stage(b"name,street,city\n", "new.csv", now=now)
    with pytest.raises(NotFound):
        imports.staged(old)
    with pytest.raises(NotFound):
        imports.read_state(old)
    assert imports.staged(recent) == b"name,street,city\n"


def test_a_job_not_heard_from_says_why(app: Flask) -> None:
    from floorplans.db import utcnow

    token = imports.stage(b"name,street,city\n", "list.csv")
    later = utcnow() + imports.SILENT_FOR + dt.timedelta(minutes=1)
    assert "stalled" not in imports.read_state(token)
    assert "No job worker has taken this preview for 11 minutes" in imports.read_state(token, now=later)["stalled"]
    imports.write_state(token, {**imports.read_state(token), "state": imports.RUNNING})
    assert "its worker was probably restarted" in imports.read_state(token, now=later)["stalled"]
    imports.write_state(token, {**imports.read_state(token, now=later), "state": imports.DONE})
    assert "stalled" not in imports.read_state(token, now=later)
