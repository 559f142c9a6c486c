"""Per-site settings that do not come from the sites file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, update

from attendance import audit
from attendance.store.db import transaction
from attendance.store.models import Site


def set_roi(
    engine: Engine, code: str, roi: dict[str, Any] | None, actor: str | None = None
) -> None:
    """Store a site's ROI (validated `Roi.to_json()` form) and audit the change."""
    with transaction(engine) as session:
        session.execute(update(Site).where(Site.code == code).values(roi=roi))
        audit.record(
            session,
            "site.roi",
            {"site": code, "roi": roi},
            actor=actor,
            entity="site",
            entity_id=code,
        )
