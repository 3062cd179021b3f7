"""PDF -> validated document -> rendered pages -> tile pyramid.

The app's job code uses only what is re-exported here: ``validate_pdf`` /
``validate_pdf_isolated`` before queueing an upload, ``render_pages`` to turn its pages into
Leaflet CRS.Simple tile pyramids in child processes. Pure functions over bytes and paths:
this package must not import Flask, SQLAlchemy, storage or floorplans.

The re-exports are resolved on first use (PEP 562) rather than at import: the worker
processes start as ``python -m converters.worker``, which imports this package first, and
must not pay for modules (or PyMuPDF imports) that only the parent needs."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

# PyMuPDF 2 imports pymupdf.layout and pymupdf4llm when they are installed (its own
# dependencies install them), and with them onnxruntime and numpy: ~90 MB in every web
# process and job, for layout analysis and Markdown extraction this project never calls.
# Marked absent before any module here imports PyMuPDF (importing any converters module runs
# this first), PyMuPDF's own ``try: import ...`` finds nothing and carries on.
# docs/benchmarks.md has create_app()'s memory before and after.
for _unused in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]  # None: "absent" to the import system

if TYPE_CHECKING:
    from converters.errors import PdfRejected, RenderFailed
    from converters.isolation import render_pages, validate_pdf_isolated
    from converters.results import PageResult, Progress, RenderLimits
    from converters.validate import PageSummary, PdfSummary, UploadLimits, validate_pdf

_EXPORTS = {
    "PdfRejected": "converters.errors",
    "RenderFailed": "converters.errors",
    "render_pages": "converters.isolation",
    "validate_pdf_isolated": "converters.isolation",
    "PageResult": "converters.results",
    "Progress": "converters.results",
    "RenderLimits": "converters.results",
    "PageSummary": "converters.validate",
    "PdfSummary": "converters.validate",
    "UploadLimits": "converters.validate",
    "validate_pdf": "converters.validate",
}
__all__ = [
    "PageResult",
    "PageSummary",
    "PdfRejected",
    "PdfSummary",
    "Progress",
    "RenderFailed",
    "RenderLimits",
    "UploadLimits",
    "render_pages",
    "validate_pdf",
    "validate_pdf_isolated",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'converters' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
