"""The two ways a PDF can let its uploader down: refused before queueing, or failed while
rendering. Both carry one sentence for a non-technical partner: what is wrong, what to do.

Must not import Flask, SQLAlchemy, storage or floorplans: the app maps these to its own
domain errors."""

from __future__ import annotations


class PdfRejected(Exception):
    """The upload is refused; ``str(e)`` says what is wrong and what to do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RenderFailed(Exception):
    """Rendering a page failed (timeout, memory cap, crash, MuPDF error); ``str(e)`` is a
    sentence without a traceback, naming the page and what to try."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageRejected(Exception):
    """An uploaded picture (a photo, or a photo of a plan) is refused; ``str(e)`` says what
    is wrong and what to do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
