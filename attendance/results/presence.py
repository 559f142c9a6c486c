"""Who of the roster was seen in a session, for how long, and how many strangers each site saw.

A person counts as present in a slot when a counted sample of that slot matched them. A `gated`
sample reused the last count of an unchanged frame, and with it that count's identifications:
the people matched then are still there. Without this, a seated audience recounted every five
minutes would be present for a tenth of the session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from attendance.config import SamplingSettings
from attendance.store.identifications import matches, stranger_counts
from attendance.store.models import SampleStatus
from attendance.store.samples import counted_samples
from attendance.store.sites import cadences

DEFAULT_CADENCE_S = SamplingSettings.model_fields["cadence_s"].default


@dataclass(frozen=True)
class PersonPresence:
    first_seen: datetime  # start of the first slot the person was present in (UTC)
    last_seen: datetime  # start of the last one
    minutes: float  # slots present × the site's cadence


@dataclass(frozen=True)
class Presence:
    people: dict[int, PersonPresence]  # roster entry id → presence, for everyone matched
    strangers: dict[int, int]  # site id → distinct strangers, for sites with identifications


def presence(
    session: Session,
    session_id: int,
    site_ids: Collection[int] | None = None,
    *,
    default_cadence_s: int = DEFAULT_CADENCE_S,
) -> Presence:
    """Presence per roster entry in a conference session (optionally of some sites only).
    Pass `settings.sampling.cadence_s` as `default_cadence_s` if it is not the default."""
    matched: dict[tuple[int, datetime], set[int]] = defaultdict(set)
    for site_id, slot, entry_id in matches(session, session_id, site_ids):
        matched[site_id, slot].add(entry_id)
    sites = {site_id for site_id, _ in matched}
    present: dict[int, set[tuple[int, datetime]]] = defaultdict(set)
    current: dict[int, set[int]] = {}  # site → who its last count matched
    for site_id, slot, status in counted_samples(session, session_id, sites):
        if status == SampleStatus.OK:
            current[site_id] = matched.get((site_id, slot), set())
        for entry_id in current.get(site_id, ()):
            present[entry_id].add((site_id, slot))
    cadence = {
        site_id: seconds or default_cadence_s
        for site_id, seconds in cadences(session, session_id, sites).items()
    }
    people = {
        entry_id: PersonPresence(
            first_seen=min(slot for _, slot in slots),
            last_seen=max(slot for _, slot in slots),
            minutes=sum(cadence[site_id] for site_id, _ in slots) / 60,
        )
        for entry_id, slots in present.items()
    }
    return Presence(people, stranger_counts(session, session_id, site_ids))
