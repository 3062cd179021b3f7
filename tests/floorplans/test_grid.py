"""The reference grid: page-relative, so a cell has the same name at every zoom and resolution."""

from __future__ import annotations

import pytest

from floorplans.grid import cell_name, column_label, plan_grid


def test_square_cells_ten_on_the_long_side_cover_the_page() -> None:
    landscape = plan_grid(1000, 640)
    assert (landscape.columns, landscape.rows, landscape.cell) == (10, 7, 100.0)
    portrait = plan_grid(640, 1000)
    assert (portrait.columns, portrait.rows) == (7, 10)
    assert plan_grid(49000, 127).rows == 1
    odd = plan_grid(9931, 7017)
    assert odd.columns == 10 and odd.rows * odd.cell >= 7017 > (odd.rows - 1) * odd.cell


def test_a_cell_has_the_same_name_at_any_resolution() -> None:
    full, half = plan_grid(12000, 8000), plan_grid(6000, 4000)
    for x, y in ((0, 0), (3100, 4700), (11999, 7999), (6000, 1200)):
        assert cell_name(full, x, y) == cell_name(half, x / 2, y / 2)
    assert cell_name(full, 3100, 4700) == "C4"
    assert cell_name(full, 12000, 8000) == "J7"  # the far edge belongs to the last cell


def test_column_labels() -> None:
    assert [column_label(i) for i in (0, 2, 25, 26, 27, 51, 52)] == ["A", "C", "Z", "AA", "AB", "AZ", "BA"]
    assert plan_grid(300, 200).as_json()["column_labels"] == list("ABCDEFGHIJ")


def test_refuses_an_empty_page() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_grid(0, 100)
