"""Plan versions of a building and their pages.

An upload is a version: its original PDF (kept, addressed by sha256, never served to
officers), its pages (labelled and ordered by the partner), its state and progress.  The
building points at its published version; that pointer moves only to a complete version.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ColumnElement, DateTime, Float, ForeignKey, Integer, String, Text, and_, false
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from floorplans.db import Model, utcnow
from floorplans.models.accounts import User

if TYPE_CHECKING:
    from floorplans.models.buildings import Building  # which imports this module


class VersionState(enum.StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"


def _new_key() -> str:
    return uuid.uuid4().hex


class PlanVersion(Model):
    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... per building
    # Random, so storage keys and tile URLs reveal nothing and cannot be enumerated.
    key: Mapped[str] = mapped_column(String(32), unique=True, default=_new_key)
    state: Mapped[str] = mapped_column(String(12), default=VersionState.QUEUED.value, index=True)
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_filename: Mapped[str] = mapped_column(String(255), default="")  # shown escaped, never used as a path
    original_bytes: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int] = mapped_column(Integer)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    tiles_rendered: Mapped[int] = mapped_column(Integer, default=0)
    tiles_done: Mapped[int] = mapped_column(Integer, default=0)  # rendered and stored
    tiles_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Touched with every progress commit; a rendering version whose heartbeat stopped was
    # abandoned by a crashed worker.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Set when the cleanup removed the tiles of a superseded version; republishing renders again.
    tiles_deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    building: Mapped[Building] = relationship(foreign_keys=[building_id], back_populates="plan_versions")
    uploaded_by: Mapped[User | None] = relationship()
    pages: Mapped[list[PlanPage]] = relationship(
        back_populates="version",
        order_by=lambda: (PlanPage.position, PlanPage.number),
        cascade="all, delete-orphan",
    )

    @property
    def state_enum(self) -> VersionState:
        return VersionState(self.state)

    @property
    def is_active(self) -> bool:
        return self.state in (VersionState.QUEUED, VersionState.RENDERING)

    # The rules below are hybrids: ``version.has_tiles`` on a loaded version and
    # ``PlanVersion.has_tiles`` in a query are the same rule, written once.
    @hybrid_property
    def has_tiles(self) -> bool:
        """Rendered and not cleaned up: its pages can be drawn (for whoever may see it)."""
        return self.state == VersionState.READY and self.tiles_deleted_at is None

    @has_tiles.inplace.expression
    @classmethod
    def _has_tiles_sql(cls) -> ColumnElement[bool]:
        return and_(cls.state == VersionState.READY.value, cls.tiles_deleted_at.is_(None))

    @property
    def is_draft(self) -> bool:
        """Rendered but never published: only its congregation and administrators see it,
        to check its sheets and markers before officers do."""
        return self.state == VersionState.READY and self.published_at is None

    @hybrid_property
    def shown_to_officers(self) -> bool:
        """The one rule for what officers may see of a version: rendered, published by its
        partner (or an administrator) at some point, tiles still there.  A superseded
        version stays readable until the cleanup, so a car that opened it keeps working."""
        return self.has_tiles and self.published_at is not None

    @shown_to_officers.inplace.expression
    @classmethod
    def _shown_to_officers_sql(cls) -> ColumnElement[bool]:
        return and_(cls.has_tiles, cls.published_at.is_not(None))

    @property
    def shown_pages(self) -> list[PlanPage]:
        """The pages officers get, in the partner's order: hidden sheets left out."""
        return [page for page in self.pages if not page.hidden]

    @property
    def status(self) -> str:
        """What the portal and the API call the version: queued, rendering, failed, draft,
        published (what officers see now), earlier (published before), or cleaned."""
        if self.state != VersionState.READY:
            return self.state
        if self.tiles_deleted_at is not None:
            return "cleaned"
        if self.published_at is None:
            return "draft"
        return "published" if self.building.published_version_id == self.id else "earlier"

    @property
    def stored_page_numbers(self) -> list[int]:
        """The numbers of the pages wholly in storage, manifest written: all of a ready
        version's; while it renders, the leading pages whose tiles are all counted in
        ``tiles_done`` (the job stores pages in page-number order, each as soon as it is
        rendered, and counts a page's last tile only once its manifest is written)."""
        pages = sorted(self.pages, key=lambda page: page.number)
        if self.state == VersionState.READY:
            return [page.number for page in pages] if self.has_tiles else []
        if self.state != VersionState.RENDERING:
            return []
        stored: list[int] = []
        counted = 0
        for page in pages:
            counted += page.tiles or 0
            if not page.tiles or counted > self.tiles_done:
                break
            stored.append(page.number)
        return stored

    @property
    def percent(self) -> int:
        """Rendering and storing are each half of the work.  Every term only grows while
        a job runs, so the bar never goes back: pages rendered of pages, and pages stored
        of pages or, once every page is rendered and the number of tiles is known, tiles
        stored of tiles, whichever is further."""
        if self.state == VersionState.READY:
            return 100
        if self.state != VersionState.RENDERING or not self.page_count:
            return 0
        rendered = min(self.pages_done, self.page_count) / self.page_count
        stored = len(self.stored_page_numbers) / self.page_count
        if self.pages_done >= self.page_count and self.tiles_total:
            stored = max(stored, min(self.tiles_done, self.tiles_total) / self.tiles_total)
        return min(99, int(50 * (rendered + stored)))


class PlanPage(Model):
    """One page of a version: a floor or a sheet, with its rendered pyramid's geometry."""

    __tablename__ = "plan_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # page number in the PDF, 1-based
    position: Mapped[int] = mapped_column(Integer)  # the order officers see, set by the partner
    label: Mapped[str] = mapped_column(String(100))
    width_pt: Mapped[float] = mapped_column(default=0.0)
    height_pt: Mapped[float] = mapped_column(default=0.0)
    # Filled in by the renderer:
    width: Mapped[int | None] = mapped_column(Integer)  # pixels at full zoom
    height: Mapped[int | None] = mapped_column(Integer)
    tile_size: Mapped[int | None] = mapped_column(Integer)
    max_zoom: Mapped[int | None] = mapped_column(Integer)
    tile_format: Mapped[str] = mapped_column(String(8), default="webp")
    kind: Mapped[str] = mapped_column(String(8), default="")  # vector or scan
    background: Mapped[str] = mapped_column(String(7), default="#ffffff")
    tiles: Mapped[int] = mapped_column(Integer, default=0)
    tile_bytes: Mapped[int] = mapped_column(Integer, default=0)
    # Set by the partner: degrees clockwise from the page's "up" to true north, for the
    # printed packet's north arrow.  None: nobody said, so no arrow is drawn.
    north_degrees: Mapped[float | None] = mapped_column(Float, default=None)
    # Set by the partner for sheets officers need not see (cover, elevations, details): never
    # shown in the in-car view nor kept offline, still kept with the version.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    version: Mapped[PlanVersion] = relationship(back_populates="pages")
