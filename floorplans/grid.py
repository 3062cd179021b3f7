"""The reference grid drawn over a plan, so an officer can say "subject in C4" on the radio
and everyone looking at the same plan, at any zoom, in the car, at the desk or on a printed
packet, finds the same square.

The grid is defined in page-relative terms (square cells, a fixed number of them along the
page's longer side), never in screen pixels, so it does not move when the plan is zoomed
or re-rendered at another resolution.  Pure functions; must not import blueprints, storage
or converters.
"""
from __future__ import annotations

from dataclasses import dataclass

CELLS_ON_LONG_SIDE = 10


@dataclass(frozen=True)
class Grid:
    columns: int  # lettered A, B, C... from the left
    rows: int  # numbered 1, 2, 3... from the top
    cell: float  # side of a square cell, in the page's full-zoom pixels

    def as_json(self) -> dict[str, object]:
        return {
            "columns": self.columns, "rows": self.rows, "cell": self.cell,
            "column_labels": [column_label(i) for i in range(self.columns)],
        }


def plan_grid(width: int, height: int, *, cells_on_long_side: int = CELLS_ON_LONG_SIDE) -> Grid:
    """Square cells, ``cells_on_long_side`` of them along the longer side; the shorter side
    gets as many as it needs to be covered (its last row or column may be partial)."""
    if width <= 0 or height <= 0:
        raise ValueError("a plan page has a positive width and height")
    cell = max(width, height) / cells_on_long_side
    # A hair of tolerance: 10 cells of 100.0 px must cover 1000 px, not spill into an 11th.
    columns = max(1, -(-round(width * 1000) // round(cell * 1000)))
    rows = max(1, -(-round(height * 1000) // round(cell * 1000)))
    return Grid(columns=columns, rows=rows, cell=cell)


def column_label(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as spreadsheets do)."""
    label = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        label = chr(ord("A") + remainder) + label
    return label


def cell_name(grid: Grid, x: float, y: float) -> str:
    """The name of the cell holding the page point (x, y) in full-zoom pixels: "C4"."""
    column = min(grid.columns - 1, max(0, int(x // grid.cell)))
    row = min(grid.rows - 1, max(0, int(y // grid.cell)))
    return f"{column_label(column)}{row + 1}"
