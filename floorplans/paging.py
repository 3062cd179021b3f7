"""Lists cut into pages of at most ``PAGE_SIZE`` rows (issue 19: a province's lists).

Two kinds, chosen by what is listed:

- Records listed by name (buildings, congregations, accounts): **offset** pages.  These
  tables hold tens of thousands of rows at most, so skipping to page 200 costs the database
  a few milliseconds; page numbers can be linked and bookmarked, and an edit between two
  clicks moves a row by one place at worst.  One row more than the page is read to know
  whether another page follows ("more"), instead of counting the whole table.
- Logs (audit, access), newest first: **keyset** pages on the id ("older than #n", "newer
  than #n").  They grow by millions of rows and take new rows at the top while someone
  reads: an offset would repeat rows on the next page and cost a scan of every row skipped,
  while ``id < n ORDER BY id DESC LIMIT k`` walks an index from where the last page ended.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from floorplans.db import db

PAGE_SIZE = 100

# A log's events are written in time order, so newest first by id is newest first by time.
# Asked for one day's events by id, though, PostgreSQL walks the id index back from today and
# filters on the time (it takes the day's rows to be spread over the whole table): millions
# of rows read for a day months ago, 665 ms at 5 M events.  For a window this short the
# time index is read instead and the window's rows sorted (a day of a province's access log
# is ~15,000 rows); a longer one starts near today, where walking the id index is right.
SHORT_WINDOW = dt.timedelta(days=31)


def short_window(start: dt.datetime | None, end: dt.datetime | None) -> bool:
    """Whether a log's date filter is narrow enough to read through its time index."""
    return start is not None and end is not None and end - start <= SHORT_WINDOW
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, and where the previous and next pages start."""

    items: Sequence[T]
    number: int = 1  # offset pages: 1, 2, ...; keyset pages: 0
    more: bool = False  # another page follows (offset pages)
    older: int | None = None  # keyset: the id the next (older) page starts below
    newer: int | None = None  # keyset: the id the previous (newer) page starts above

    @property
    def previous_number(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next_number(self) -> int | None:
        return self.number + 1 if self.more else None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def page_number(value: Any) -> int:
    """A page number from a query string: 1 unless a positive whole number was sent."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return max(1, min(number, 1_000_000))


def by_offset(query: Select[Any], number: int, *, size: int = PAGE_SIZE) -> Page[Any]:
    """Page ``number`` of ``query`` (which must have a total order, e.g. name then id)."""
    number = page_number(number)
    size = max(1, min(size, PAGE_SIZE))
    rows = db.session.scalars(query.offset((number - 1) * size).limit(size + 1)).all()
    return Page(rows[:size], number=number, more=len(rows) > size)


def by_keyset(query: Select[Any], id_column: Any, *, before: int | None = None, after: int | None = None,
              size: int = PAGE_SIZE, key: Callable[[Any], int] = lambda row: int(row.id),
              narrow: bool = False) -> Page[Any]:
    """Newest first: the ``size`` rows with ids below ``before`` (the next, older page), or
    just above ``after`` (the previous, newer page), or the newest.  ``older`` and ``newer``
    are set when rows lie beyond the page on that side.  ``narrow``: the query keeps to a
    few days (``short_window()``); sorting by ``id + 0``, which no index provides,
    lets the database read those days through their time index (same rows, same order)."""
    size = max(1, min(size, PAGE_SIZE))
    sort = id_column + 0 if narrow else id_column
    if after is not None:
        rows = list(db.session.scalars(query.where(id_column > after).order_by(sort.asc()).limit(size + 1)))
        newer_exist = len(rows) > size
        rows = rows[:size][::-1]
        older_exist = True  # the page we came from
    else:
        if before is not None:
            query = query.where(id_column < before)
        rows = list(db.session.scalars(query.order_by(sort.desc()).limit(size + 1)))
        older_exist = len(rows) > size
        rows = rows[:size]
        newer_exist = before is not None
    if not rows:
        return Page([], number=0)
    return Page(rows, number=0, older=key(rows[-1]) if older_exist else None,
                newer=key(rows[0]) if newer_exist else None)
