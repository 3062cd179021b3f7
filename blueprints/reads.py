"""Reads of a building's record or plan that its congregation sees in its access log
(floorplans.services.access): by the signed-in user, from the channel and address the
request declared (floorplans.acting: the API under /api/, the web elsewhere)."""
from __future__ import annotations

from flask_login import current_user

from floorplans.models import Building
from floorplans.services import access, audit


def log_read(building: Building, action: str, detail: str = "") -> None:
    """Log this request's read of ``building`` (``view_record``, ``view_plan``...), unless the
    reader belongs to its own congregation."""
    origin = audit.current_origin()
    access.record_access(current_user, building, action, channel=origin.channel, ip_address=origin.address,
                         detail=detail)
