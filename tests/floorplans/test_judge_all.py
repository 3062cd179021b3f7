"""Judging a crowded street's records together gives each the verdict it gets alone."""

from __future__ import annotations

import random

from floorplans import addresses

STREETS = ["Main Street", "Main St W", "Main Avenue", "Mian St", "Rue Saint-Denis", "Saint-Denis Ouest", "Highway 7",
           "Avenue Road", "King St E", "Elm", ""]
CITIES = ["Toronto", "Hamilton", "Montréal", "St. Catharines", ""]
NAMES = ["Beth Shalom", "Main Street Chapel", "Toronto Temple", "St. Mary", "Hamilton Gurdwara"]


def test_judge_all_gives_each_record_its_own_verdict() -> None:
    rng = random.Random(19)
    records = []
    for _ in range(400):
        number = rng.choice(["", "12 ", "123 ", "124 ", "12a ", "4-123 ", "7 ", str(rng.randint(1, 3000)) + " "])
        records.append(addresses.Record.of(street=number + rng.choice(STREETS), city=rng.choice(CITIES),
                                           region=rng.choice(["ON", "QC", ""]),
                                           postal_code=rng.choice(["", "M5V 2T6", "L8P 1A1", "M5V 3A1"]),
                                           name=rng.choice(NAMES)))
    sent = ["123 Main St, Toronto", "122 Main St W Toronto ON", "Unit 4, 123 Main St.", "12 Elm, Hamilton",
            "1235 rue St-Denis O, Montréal (Québec)", "123 Mian Street", "Main St, Toronto", "M5V 2T6",
            "7 Highway 7", "123 Avenue Rd", "12 King St E St Catharines", "Beth Shalom, 123 Main St",
            "4 123 Main Street Toronto Temple", "99 Nowhere Rd", "124 Main St, Toronto ON M5V 3A1",
            "123 Main St L8P1A1"]
    for address in sent:
        read = addresses.read(address)
        assert addresses.judge_all(read, records) == [addresses.judge(read, r) for r in records], address
