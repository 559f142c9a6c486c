"""Per-site settings that do not come from the sites file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, update

from attendance.store import audit_log
from attendance.store.db import transaction
from attendance.store.models import Site


def set_roi(
    engine: Engine, code: str, roi: dict[str, Any] | None, actor: str | None = None
) -> None:
    """Store a site's ROI (validated `Roi.to_json()` form) and audit the change."""
    with transaction(engine) as session:
        # A new ROI usually means the camera was moved or re-aimed: relearn its perspective.
        session.execute(update(Site).where(Site.code == code).values(roi=roi, perspective=None))
        audit_log.record(
            session,
            "site.roi",
            {"site": code, "roi": roi},
            actor=actor,
            entity="site",
            entity_id=code,
        )


def save_perspectives(engine: Engine, learned: dict[int, dict[str, Any]]) -> None:
    """Store what workers learned of their cameras (site id → `Site.perspective`)."""
    with transaction(engine) as session:
        for site_id, perspective in learned.items():
            session.execute(update(Site).where(Site.id == site_id).values(perspective=perspective))
