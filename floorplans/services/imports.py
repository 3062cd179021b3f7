"""Bulk import of a region's buildings and partners from a CSV file (an open-data list of
places of worship, a spreadsheet the service kept): ``flask buildings import`` and the
admin's upload, preview and confirm pages run the same ``import_buildings``.

- Reading: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode
  text"), else Windows-1252 (what Excel on Windows writes as "CSV"); the delimiter (comma,
  semicolon or tab) is read off the header line.  Header names in any order and case;
  unknown columns are reported and ignored; a missing required column refuses the file.
- One line, one building.  The record's own rules (``services.buildings.BUILDING_FIELDS``,
  ``ORGANISATION_FIELDS``, the e-mail field) judge each cell; a line any of them refuses is
  reported with its line number and every reason, and nothing of it is written.
- Matching: a line is the building already on record when its organisation, street and
  city are the same, compared in the canonical spelling of ``floorplans.addresses`` ("12
  Main St W" is "12 Main Street West"), so running the same file again changes nothing.
  An empty cell leaves the record's value as it is.
- Organisations: one per distinct ``organisation``; a line without one gets an organisation
  of its own, named after the building.  An organisation already on record keeps its faith
  tradition.  Partner e-mails become partner accounts of the line's organisation, without a
  usable password until the person accepts an invitation (``invite_new_partners``).
- A dry run is the real import rolled back by the caller: the preview can never disagree
  with what the import does.  The caller commits; invitations go out after the commit.
- The admin's pages run it as a job (``run_job``), its state and progress beside the file.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from floorplans import objects
from floorplans.addresses import words_of
from floorplans.db import db, utcnow
from floorplans.errors import Conflict, InvalidInput, NotFound
from floorplans.fields import Field
from floorplans.models import FAITH_TRADITIONS, Building, Organisation, Role, User
from floorplans.search import fold
from floorplans.services import account_links, accounts, audit, buildings
from floorplans.services.accounts import ORGANISATION_FIELDS
from floorplans.services.buildings import BUILDING_FIELDS

#: The columns the import reads, in the order the docs list them.
BUILDING_COLUMNS = ("name", "street", "city", "region", "postal_code", "latitude", "longitude")
COLUMNS = (*BUILDING_COLUMNS, "organisation", "faith_tradition", "partner_email")
REQUIRED_COLUMNS = ("name", "street", "city")
#: A city's list is a few hundred to a couple of thousand lines; a province's, some thousands.
MAX_LINES = 10_000
MAX_BYTES = 5 * 1024 * 1024
#: The e-mail of a partner, judged like any account's e-mail (at most 254 characters).
PARTNER_EMAIL = Field("partner_email", "Partner e-mail", "email", max_length=254)
#: A password hash no password matches: the account signs in once an invitation is accepted.
NO_PASSWORD = account_links.NO_PASSWORD
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_TRADITIONS = {re.sub(r"[^a-z]", "", fold(name)): name for name in FAITH_TRADITIONS}

Progress = Callable[[int, int], None]


@dataclass
class Line:
    """What became of one line of the file."""

    number: int  # the line in the file where the record starts (the header is line 1)
    outcome: str  # "created", "updated", "unchanged" or "rejected"
    name: str
    address: str
    organisation: str = ""
    reasons: list[str] = field(default_factory=list)  # why it was rejected
    changes: list[str] = field(default_factory=list)  # what an update changed, in words
    notes: list[str] = field(default_factory=list)  # what the administrator should check
    building_id: int | None = None


@dataclass
class ImportReport:
    filename: str
    encoding: str
    delimiter: str
    columns: list[str]  # the known columns found, in the file's order
    unknown_columns: list[str]
    lines: list[Line] = field(default_factory=list)
    organisations_created: list[str] = field(default_factory=list)
    new_partners: list[User] = field(default_factory=list)  # created by this import, to invite

    def of(self, outcome: str) -> list[Line]:
        return [line for line in self.lines if line.outcome == outcome]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        for line in self.lines:
            counts[line.outcome] += 1
        return counts

    def summary(self) -> str:
        counts = self.counts
        return (f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
                f"{counts['rejected']} rejected; {len(self.organisations_created)} new organisation(s), "
                f"{len(self.new_partners)} new partner account(s)")


# --- reading the file ------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the name of its encoding, as real files come: Excel writes
    Windows-1252 ("CSV") or UTF-8 with a byte-order mark ("CSV UTF-8"), open-data portals
    UTF-8 without one."""
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput({"file": "is a spreadsheet (.xlsx or .ods), not CSV: save it from the spreadsheet "
                                    "program as \"CSV UTF-8\" and upload that."})
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _decoded(data[len(codecs.BOM_UTF8):], "utf-8"), "UTF-8 with byte-order mark"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _decoded(data, "utf-16"), "UTF-16"
    else:
        try:
            text, encoding = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            text, encoding = _decoded(data, "cp1252"), "Windows-1252"
    if "\x00" in text:
        raise InvalidInput({"file": "is not a text file (it holds NUL bytes): export the list as CSV."})
    return text, encoding


def _decoded(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput({"file": f"cannot be read as text (byte {exc.start + 1} is not {encoding}): save it "
                                    "from the spreadsheet program as \"CSV UTF-8\" and upload that."}) from None


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon (Excel in much of Europe and Quebec) or tab, whichever the header
    line holds most of."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def column_name(header: str) -> str:
    """"Postal Code", " POSTAL_CODE " and "postal-code" all name ``postal_code``."""
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").strip().lower())


@dataclass
class _Rows:
    encoding: str
    delimiter: str
    positions: dict[str, int]  # known column -> its index in a row
    unknown: list[str]
    width: int  # cells in the header line
    rows: list[tuple[int, list[str]]]  # (line number, cells), blank lines left out


def read_rows(data: bytes) -> _Rows:
    if len(data) > MAX_BYTES:
        raise InvalidInput({"file": f"is {len(data) / 1024 / 1024:.1f} MB; at most {MAX_BYTES // 1024 // 1024} MB "
                                    f"({MAX_LINES:,} lines) go in one import: split the file."})
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and lines of empty cells (";;;;;") a spreadsheet leaves
            if header is None:
                header = cells
                header_line = number
                continue
            rows.append((number, cells))
            if len(rows) > MAX_LINES:
                raise InvalidInput({"file": f"has more than {MAX_LINES:,} lines: split it into several imports."})
    except csv.Error as exc:
        raise InvalidInput({"file": f"line {start}: {exc}; check its quotes (a cell holding the delimiter "
                                    "must be in double quotes)."}) from None
    if header is None:
        raise InvalidInput({"file": "is empty: the first line must name the columns "
                                    f"({', '.join(COLUMNS)})."})
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header):
        name = column_name(raw)
        if name in positions:
            raise InvalidInput({"file": f"line {header_line} names the column {name!r} twice; keep one."})
        if name in COLUMNS:
            positions[name] = index
        elif name:
            unknown.append(raw.strip())
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        names = " and ".join(repr(m) for m in missing) + (" columns" if len(missing) > 1 else " column")
        found = ", ".join(h.strip() for h in header if h.strip())
        raise InvalidInput({"file": f"has no {names}: the first line must name the columns, at least "
                                    f"{', '.join(REQUIRED_COLUMNS)} (found: {found})."})
    return _Rows(encoding, delimiter, positions, unknown, len(header), rows)


# --- importing -------------------------------------------------------------------------

def _key(organisation: str, street: str, city: str) -> tuple[str, str, str]:
    """How a line finds its building: the organisation's name in any case, the street and
    city in the canonical spelling of ``floorplans.addresses``."""
    return organisation.strip().lower(), " ".join(words_of(street)), " ".join(words_of(city))


def _tradition(value: str) -> str:
    """The faith tradition as the list spells it, whatever the file's case and accents
    ("bahai", "MUSLIM"); unknown spellings are left for the field to refuse."""
    return _TRADITIONS.get(re.sub(r"[^a-z]", "", fold(value)), value)


def _describe(name: str, before: Any, after: Any) -> str:
    label = BUILDING_FIELDS.by_name[name].label.lower()
    return f"{label}: {before if before not in (None, '') else '(empty)'} → {after}"


def import_buildings(
    data: bytes,
    *,
    filename: str = "",
    by: User | None = None,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import the CSV ``data``; every line's fate in the report.  The file as a whole is
    refused (InvalidInput on ``file``) when it cannot be read or lacks a required column.
    Flushes; the caller commits (or rolls back: a dry run)."""
    rows = read_rows(data)
    report = ImportReport(
        filename=filename, encoding=rows.encoding, delimiter=_DELIMITERS[rows.delimiter],
        columns=sorted(rows.positions, key=rows.positions.__getitem__), unknown_columns=rows.unknown,
    )
    organisations = {o.name.lower(): o for o in db.session.scalars(select(Organisation))}
    on_record = {
        _key(b.organisation.name, b.street, b.city): b
        for b in db.session.scalars(select(Building).options(selectinload(Building.organisation)))
    }
    # Who has a building at each address: the same place under another congregation's name
    # is a new building by the matching rule, and the preview says so.
    at_address: dict[tuple[str, str], list[str]] = {}
    for key, building in on_record.items():
        at_address.setdefault(key[1:], []).append(building.organisation.name)
    partners = {u.email: u for u in db.session.scalars(select(User))}
    seen: dict[tuple[str, str, str], int] = {}
    # A line without an organisation gets one named after its building; two such lines with
    # one name and different addresses (two "St. Mary's Church") get the address added.
    unnamed_addresses: dict[str, set[tuple[str, str]]] = {}
    for _, cells in rows.rows:
        cell = _cells(cells, rows)
        if not cell.get("organisation"):
            address = _key("", cell["street"], cell["city"])[1:]
            unnamed_addresses.setdefault(cell["name"].lower(), set()).add(address)
    total = len(rows.rows)
    for done, (number, cells) in enumerate(rows.rows, start=1):
        report.lines.append(_import_line(
            number, cells, rows, report, by=by, organisations=organisations, on_record=on_record,
            partners=partners, seen=seen, unnamed_addresses=unnamed_addresses, at_address=at_address,
        ))
        if on_progress is not None:
            on_progress(done, total)
    counts = report.counts
    audit.record("buildings.import", actor=by, detail={
        "file": filename[:200], "encoding": report.encoding, "delimiter": report.delimiter, "lines": total,
        **counts, "organisations_created": len(report.organisations_created),
        "partners_created": len(report.new_partners), "unknown_columns": report.unknown_columns[:20],
        "rejected_lines": [line.number for line in report.of("rejected")][:200],
    })  # fmt: skip
    return report


def _cells(cells: Sequence[str], rows: _Rows) -> dict[str, str]:
    values = {name: (cells[i].strip() if i < len(cells) else "") for name, i in rows.positions.items()}
    if rows.delimiter == ";":  # where semicolons separate cells, commas separate decimals
        for name in ("latitude", "longitude"):
            if _DECIMAL_COMMA.match(values.get(name, "")):
                values[name] = values[name].replace(",", ".")
    return values


def _import_line(
    number: int,
    cells: list[str],
    rows: _Rows,
    report: ImportReport,
    *,
    by: User | None,
    organisations: dict[str, Organisation],
    on_record: dict[tuple[str, str, str], Building],
    partners: dict[str, User],
    seen: dict[tuple[str, str, str], int],
    unnamed_addresses: Mapping[str, set[tuple[str, str]]],
    at_address: dict[tuple[str, str], list[str]],
) -> Line:
    cell = _cells(cells, rows)
    organisation_name = cell.get("organisation", "")
    if not organisation_name:
        organisation_name = cell["name"]
        if len(unnamed_addresses.get(cell["name"].lower(), ())) > 1:
            organisation_name = f"{cell['name']} ({cell['street']}, {cell['city']})"
    line = Line(number, "rejected", cell["name"], ", ".join(p for p in (cell["street"], cell["city"]) if p),
                organisation_name)
    reasons: dict[str, str] = {}
    if any(c.strip() for c in cells[rows.width:]):
        reasons["line"] = (f"has {len(cells)} cells, more than the header's columns: a cell holding a "
                           f"{report.delimiter} must be in double quotes")
    # The record's own rules: the required fields always, the others when the cell has a value
    # (an empty cell keeps what the record says).
    given = {name: cell[name] for name in BUILDING_COLUMNS
             if name in rows.positions and (name in REQUIRED_COLUMNS or cell[name])}
    values: dict[str, Any] = {}
    try:
        values = BUILDING_FIELDS.clean(given, partial=True)
        buildings._check_coordinates(values, None)
    except InvalidInput as exc:
        reasons.update(exc.fields)
    email = ""
    try:
        email = accounts.normalise_email(PARTNER_EMAIL.clean(cell.get("partner_email", "")))
    except ValueError as exc:
        reasons["partner_email"] = str(exc)
    organisation = organisations.get(organisation_name.lower())
    tradition = _tradition(cell.get("faith_tradition", ""))
    if organisation is None:
        try:
            ORGANISATION_FIELDS.clean({"name": organisation_name, "faith_tradition": tradition})
        except InvalidInput as exc:
            for name, problem in exc.fields.items():
                column = "organisation" if name == "name" else name
                reasons[column] = problem + (" (needed for a new organisation)" if name == "faith_tradition" else "")
    key = _key(organisation_name, cell["street"], cell["city"])
    if key in seen and "street" not in reasons and "city" not in reasons:
        reasons["line"] = (f"is the same building as line {seen[key]} (same organisation, street and city); "
                           "a building appears once in a file")
    account = partners.get(email) if email else None
    if account is not None and (account.role != Role.PARTNER.value or organisation is None
                                or account.organisation_id != organisation.id):
        whose = (account.organisation.name if account.organisation else Role(account.role).label.lower())
        reasons["partner_email"] = f"already belongs to an account of {whose}, not of {organisation_name}"
    if reasons:
        line.reasons = [f"{name.replace('_', ' ')}: {problem}" for name, problem in reasons.items()]
        return line
    seen[key] = number

    if organisation is None:
        organisation = accounts.create_organisation({"name": organisation_name, "faith_tradition": tradition})
        organisations[organisation.name.lower()] = organisation
        report.organisations_created.append(organisation.name)
    elif tradition and tradition != organisation.faith_tradition:
        line.notes.append(f"{organisation.name} is {organisation.faith_tradition} on record; the file's "
                          f"{tradition!r} is not applied (change it on the congregation's page)")
    building = on_record.get(key)
    if building is None:
        building = buildings.create_building(organisation, given, by=by)
        on_record[key] = building
        line.outcome = "created"
        others = [name for name in at_address.get(key[1:], ()) if name.lower() != key[0]]
        if others:
            line.notes.append(f"{', '.join(others)} has a building at this address: check it is not the same place "
                              "(a line matches a building of its own organisation only)")
        at_address.setdefault(key[1:], []).append(organisation.name)
    else:
        changed = {name: value for name, value in values.items()
                   if name not in ("street", "city") and getattr(building, name) != value}
        if changed:
            line.changes = [_describe(name, getattr(building, name), value) for name, value in changed.items()]
            buildings.update_building(building, changed, partial=True)
        line.outcome = "updated" if changed else "unchanged"
    line.building_id = building.id
    if email and account is None:
        partners[email] = _create_partner(email, organisation, by=by)
        report.new_partners.append(partners[email])
        line.changes.append(f"partner account {email}")
        if line.outcome == "unchanged":
            line.outcome = "updated"
    return line


def _create_partner(email: str, organisation: Organisation, *, by: User | None) -> User:
    """A partner account of ``organisation`` that nobody can sign in to until its person
    sets a password through an invitation (or an administrator sets one)."""
    user = User(email=email, role=Role.PARTNER.value, organisation=organisation, password_hash=NO_PASSWORD,
                active=True)
    db.session.add(user)
    db.session.flush()
    audit.record("account.create", actor=by, target=user, detail={
        "email": user.email, "role": user.role, "organisation": organisation.name, "by": "import",
    })  # fmt: skip
    return user


def invite_new_partners(partners: Sequence[User], *, by: User | None) -> list[str]:
    """Invitations for the partner accounts an import created, after its commit; returns
    the e-mails invited (none without a mail server: the accounts wait for an administrator
    to invite them from Administration, Invitations, or set a password)."""
    return account_links.send_invitations(partners, by=by)


# --- the admin's import: a job, with progress the page polls -----------------------------
#
# A couple of thousand lines take seconds to tens of seconds on a busy machine
# (docs/benchmarks.md), longer than a web request should wait, so the admin's preview and
# import run as a job (floorplans.jobs).  The uploaded file waits in the object store, where
# every web host and worker sees it, with a small JSON record of the job's state, its progress
# and, once done, its report: imports/<token>.csv and imports/<token>.json (objects.py).

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
PREVIEW, IMPORT = "preview", "import"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def check_readable(data: bytes) -> None:
    """Refuse at once (InvalidInput on ``file``) a file the job would refuse: unreadable,
    too large, no header, a required column missing."""
    read_rows(data)


#: How long an upload nobody confirmed, and an import's report, are kept.
KEPT_FOR = dt.timedelta(days=7)


def stage(data: bytes, filename: str, *, now: dt.datetime | None = None) -> str:
    """Keep an uploaded file until its import is confirmed; the token that names it."""
    now = now or utcnow()
    forget_old(now)
    token = secrets.token_hex(16)
    objects.get_storage().put(objects.import_key(token), data, content_type="text/csv")
    write_state(token, {"kind": PREVIEW, "state": QUEUED, "filename": filename[:200], "done": 0, "total": 0,
                        "staged_at": now.isoformat()})
    return token


def forget_old(now: dt.datetime) -> int:
    """Remove the uploads and reports older than ``KEPT_FOR`` (but a running job's); each
    upload tidies up after the earlier ones: a few files a month, no periodic job needed."""
    store = objects.get_storage()
    removed = 0
    for key in list(store.list(objects.IMPORTS_PREFIX)):
        token = key.removeprefix(objects.IMPORTS_PREFIX).removesuffix(".json")
        if not key.endswith(".json") or not _TOKEN.match(token):
            continue
        try:
            state = json.loads(store.get(key))
            staged_at = dt.datetime.fromisoformat(state["staged_at"])
        except (FileNotFoundError, ValueError, KeyError):
            continue
        if now - staged_at > KEPT_FOR and state.get("state") != RUNNING:
            store.delete(objects.import_key(token))
            store.delete(key)
            removed += 1
    return removed


def staged(token: str) -> bytes:
    _check_token(token)
    try:
        return objects.get_storage().get(objects.import_key(token))
    except FileNotFoundError:
        raise NotFound("This file was imported already or is no longer kept: upload it again.") from None


def discard(token: str) -> None:
    _check_token(token)
    objects.get_storage().delete(objects.import_key(token))


#: A job not heard from for this long has stopped (no worker runs, or it was restarted).
SILENT_FOR = dt.timedelta(minutes=10)


def write_state(token: str, state: Mapping[str, Any]) -> None:
    _check_token(token)
    state = {**state, "updated_at": utcnow().isoformat()}
    state.pop("stalled", None)
    objects.get_storage().put(objects.import_state_key(token), json.dumps(state).encode(),
                              content_type="application/json")


def read_state(token: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The job's kind (preview or import), state, progress and, when done, its report;
    ``stalled`` says why a job waiting or running has not been heard from for SILENT_FOR."""
    _check_token(token)
    try:
        state: dict[str, Any] = json.loads(objects.get_storage().get(objects.import_state_key(token)))
    except FileNotFoundError:
        raise NotFound("There is no such import: upload the file again.") from None
    silent = (now or utcnow()) - dt.datetime.fromisoformat(state["updated_at"])
    if state["state"] == QUEUED and silent > SILENT_FOR:
        minutes = int(silent.total_seconds() // 60)
        state["stalled"] = (f"No job worker has taken this {state['kind']} for {minutes} minutes: "
                            "is `flask --app wsgi jobs worker` running? It starts as soon as one runs.")
    elif state["state"] == RUNNING and silent > SILENT_FOR:
        state["stalled"] = ("This job has not moved for over ten minutes: its worker was probably restarted. "
                            "Nothing of it was saved (an import is saved whole or not at all): upload the "
                            "file again.")
    return state


def _check_token(token: str) -> None:
    if not _TOKEN.match(token):
        raise NotFound("There is no such import: upload the file again.")


def confirm(token: str) -> None:
    """Mark a previewed file for import (the caller queues the job); refused unless its
    preview is done and it is not imported or importing already."""
    state = read_state(token)
    if state["kind"] != PREVIEW or state["state"] != DONE:
        raise Conflict("This file is being imported or was imported already; its result is on this page.")
    write_state(token, {**state, "kind": IMPORT, "state": QUEUED, "done": 0})


def run_job(token: str, *, by_id: int | None, invite: bool = False) -> None:
    """The job: the preview (the import rolled back) or the import (committed, then its
    invitations), with its progress and report written to the token's state."""
    state = read_state(token)
    kind, filename = state["kind"], state["filename"]
    by = db.session.get(User, by_id) if by_id is not None else None
    step = 1

    def progress(done: int, total: int) -> None:
        nonlocal step
        step = max(1, total // 50)  # some fifty writes, however long the file
        if done % step == 0 or done == total:
            write_state(token, {**state, "state": RUNNING, "done": done, "total": total})

    try:
        data = staged(token)
        write_state(token, {**state, "state": RUNNING})
        with audit.acting(audit.Origin("job", actor=by)):
            report = import_buildings(data, filename=filename, by=by, on_progress=progress)
            invited = invite_new_partners(report.new_partners, by=by) if kind == IMPORT and invite else []
    except InvalidInput as exc:
        db.session.rollback()
        write_state(token, {**state, "state": FAILED, "error": f"{filename} {exc.fields.get('file', exc.message)}"})
        return
    except BaseException:
        db.session.rollback()
        write_state(token, {**state, "state": FAILED,
                            "error": "The import stopped on an unexpected error and changed nothing; the service's "
                                     "log has the details. Try again, or tell the service's administrators."})
        raise
    total, result = len(report.lines), report_json(report, invited=invited, invite=invite)
    if kind == PREVIEW:
        db.session.rollback()  # what will be done, not done
    else:
        db.session.commit()
        discard(token)
    write_state(token, {**state, "state": DONE, "done": total, "total": total, "report": result})


def report_json(report: ImportReport, *, invited: Sequence[str] = (), invite: bool = False) -> dict[str, Any]:
    """What the report page shows, as the job's state keeps it."""
    return {
        "filename": report.filename, "encoding": report.encoding, "delimiter": report.delimiter,
        "unknown_columns": report.unknown_columns, "counts": report.counts, "lines_read": len(report.lines),
        "organisations_created": report.organisations_created,
        "new_partners": [user.email for user in report.new_partners], "invite": invite, "invited": list(invited),
        "lines": {outcome: [{"number": line.number, "name": line.name, "address": line.address,
                             "organisation": line.organisation, "reasons": line.reasons, "changes": line.changes,
                             "notes": line.notes, "building_id": line.building_id}
                            for line in report.of(outcome)]
                  for outcome in ("rejected", "created", "updated")},
        "to_check": [{"number": line.number, "name": line.name, "address": line.address, "notes": line.notes}
                     for line in report.lines if line.notes],
    }  # fmt: skip
