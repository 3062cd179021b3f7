"""A city's open-data list of places of worship, as such files really come: accents, a
byte-order mark or Windows-1252, semicolons, headers in their own order and case, blank
lines, a repeated row, columns nobody asked for, and lines a person typed wrong.

Used by tests/floorplans/test_imports.py and bench/import_csv.py.  ``messy_csv`` returns the
bytes and what a correct import makes of them.
"""
from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field

_PLACES = (  # (name, faith tradition)
    ("Église Saint-Rémi", "Christian"), ("St. Mary's Anglican Church", "Christian"), ("Masjid Al-Noor", "Muslim"),
    ("Gurdwara Sahib Dasmesh Darbar", "Sikh"), ("Beth Tzedec Congregation", "Jewish"),
    ("Sri Ganesha Temple", "Hindu"), ("Ôm Zen Centre", "Buddhist"), ("Bahá'í Centre", "Bahá'í"),
    ("Knox Presbyterian", "Christian"), ("Mosquée Ennour", "Muslim"),
    ("Holy Trinity Ukrainian Catholic Church", "Christian"), ("First Nations Healing Lodge", "Indigenous spirituality"),
    ("Église Notre-Dame-des-Neiges", "Christian"), ("Temple Sinai", "Jewish"), ("Jamia Masjid", "Muslim"),
    ("Cathédrale Marie-Reine-du-Monde", "Christian"),
)
# How the same tradition is spelt by whoever typed the list.
_SPELLINGS = {"Bahá'í": ("Bahá'í", "bahai", "BAHA'I"), "Muslim": ("Muslim", "muslim", "MUSLIM"),
              "Christian": ("Christian", "christian ")}
_STREETS = ("Main Street", "rue Saint-Denis", "Queen St W", "Côte-des-Neiges Road", "King Street East",
            "boul. René-Lévesque O", "Bloor St. West", "Lakeshore Road", "chemin de la Côte-Sainte-Catherine")
_CITIES = (("Montréal", "QC", "H2X 1K4"), ("Toronto", "ON", "M5H 2N2"), ("Oakville", "ON", "L6J 1H8"),
           ("Québec", "QC", "G1R 4S9"), ("Mississauga", "ON", "L5B 1M2"))
# The header as a city's portal publishes it: its own order, case and spaces, and two columns
# nobody asked for.
HEADER = ("Name", " STREET", "City ", "Region", "Postal Code", "Latitude", "longitude", "Organisation",
          "Faith_Tradition", "Partner_Email", "Ward", "OBJECTID")


@dataclass
class Expected:
    buildings: int = 0  # distinct buildings created
    rejected: list[int] = field(default_factory=list)  # line numbers
    blank_lines: int = 0
    organisations: int = 0
    partners: int = 0


def messy_rows(count: int, *, seed: int = 17, numbers_from: int = 100) -> tuple[list[list[str] | None], Expected]:
    """``count`` buildings as rows (None: a blank line), with a repeated row and bad lines
    mixed in; and what a correct import of them gives."""
    rng = random.Random(seed)
    rows: list[list[str] | None] = []
    expected = Expected()
    organisations: set[str] = set()
    for n in range(count):
        place, tradition = _PLACES[n % len(_PLACES)]
        name = f"{place} {n // len(_PLACES) + 1}" if n >= len(_PLACES) else place
        city, region, postal = _CITIES[n % len(_CITIES)]
        spelt = rng.choice(_SPELLINGS.get(tradition, (tradition,)))
        # Every fifth building belongs to a congregation with several; the rest to their own.
        organisation = f"Diocèse {n % 7}" if n % 5 == 0 else ("" if n % 3 == 0 else f"Congrégation {name}")
        if organisation.startswith("Diocèse"):
            tradition = spelt = "Christian"
        email = f"partner{n}@exemple.org" if n % 2 == 0 and not organisation.startswith("Diocèse") else ""
        row = [name, f"{numbers_from + n} {_STREETS[n % len(_STREETS)]}", city, region, postal,
               f"{45 + rng.random():.6f}", f"{-73 - rng.random() * 7:.6f}", organisation, spelt, email,
               f"Ward {n % 12}", str(9000 + n)]
        rows.append(row)
        expected.buildings += 1
        organisations.add((organisation or name).lower())
        expected.partners += bool(email)
        if n % 40 == 7:
            rows.append(None)  # a blank line between two buildings
            expected.blank_lines += 1
        if n == 3:
            rows.append(list(row))  # the same row twice, as an export of a merged list has
    expected.organisations = len(organisations)
    bad = [
        ["Chapel of the Bad Coordinates", "1 Nowhere Road", "Oakville", "ON", "", "91.5", "-79.1", "", "Christian",
         "", "", ""],
        ["Temple of No Tradition", "2 Nowhere Road", "Oakville", "ON", "", "", "", "", "Pastafarian", "", "", ""],
        ["Bad E-mail Gurdwara", "3 Nowhere Road", "Oakville", "ON", "", "", "", "", "Sikh", "not-an-email", "", ""],
        ["", "4 Nowhere Road", "Oakville", "ON", "", "", "", "", "Hindu", "", "", ""],
        ["Half a Point Mosque", "5 Nowhere Road", "Oakville", "ON", "", "43.4", "", "", "Muslim", "", "", ""],
        ["X" * 201, "6 Nowhere Road", "Oakville", "ON", "", "", "", "", "Jewish", "", "", ""],
    ]
    for k, row in enumerate(bad):
        rows.insert(min(len(rows), 10 + k * max(1, len(rows) // len(bad))), row)
    return rows, expected


def messy_csv(count: int, *, encoding: str = "utf-8-sig", delimiter: str = ";", seed: int = 17,
              crlf: bool = True, numbers_from: int = 100) -> tuple[bytes, Expected]:
    """The file's bytes and what an import of it gives (line numbers of the rejected lines
    counted as a text editor shows them, the header being line 1).  Another ``numbers_from``
    puts every building at another street number: another city's list."""
    rows, expected = messy_rows(count, seed=seed, numbers_from=numbers_from)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(HEADER)
    line = 1
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        line += 1
        if row is None:
            out.write("\r\n" if crlf else "\n")
            continue
        if delimiter == ";":  # decimal commas, as a French-Canadian spreadsheet writes them
            row = [*row[:5], row[5].replace(".", ","), row[6].replace(".", ","), *row[7:]]
        writer.writerow(row)
        if row[1].startswith(("1 Nowhere", "2 Nowhere", "3 Nowhere", "4 Nowhere", "5 Nowhere", "6 Nowhere")) \
                or tuple(row) in seen:
            expected.rejected.append(line)
        seen.setdefault(tuple(row), line)
    return out.getvalue().encode(encoding), expected
