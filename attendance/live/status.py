"""Site status from its samples: live, stale, offline or degraded, with the reason.

live: a good sample (counted, gated, or deferred while detection catches up) within
`stale_after`. degraded: frames arrive but are
unusable (dark, frozen, undecodable) or the last grabs failed while the last good sample is
still recent. stale / offline: no good sample for `stale_after` / `offline_after`.
"""

from __future__ import annotations

from dataclasses import dataclass

from attendance.store.models import COUNTED, SampleStatus

GOOD = COUNTED | {SampleStatus.DEFERRED}
PICTURE_PROBLEMS = {SampleStatus.DARK, SampleStatus.FROZEN, SampleStatus.DECODE_ERROR}


@dataclass
class SiteStatus:
    status: str = "offline"
    reason: str = "no sample yet"
    last_good_at: float | None = None
    last_status: str | None = None
    since: float | None = None


class StatusBoard:
    """Current status of every site; `update` and `tick` return the transitions."""

    def __init__(self, stale_after: float, offline_after: float):
        self.stale_after, self.offline_after = stale_after, offline_after
        self.sites: dict[str, SiteStatus] = {}

    def update(self, code: str, sample_status: str, at: float) -> tuple[str, str] | None:
        site = self.sites.setdefault(code, SiteStatus())
        site.last_status = sample_status
        if sample_status in GOOD:
            site.last_good_at = at
        return self._judge(code, site, at)

    def tick(self, at: float) -> list[tuple[str, str, str]]:
        """Age every site; (code, status, reason) for those that changed."""
        changes = []
        for code, site in self.sites.items():
            changed = self._judge(code, site, at)
            if changed:
                changes.append((code, *changed))
        return changes

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for site in self.sites.values():
            totals[site.status] = totals.get(site.status, 0) + 1
        return totals

    def _judge(self, code: str, site: SiteStatus, at: float) -> tuple[str, str] | None:
        status, reason = self._status(site, at)
        if (status, reason) == (site.status, site.reason):
            return None
        site.status, site.reason, site.since = status, reason, at
        return status, reason

    def _status(self, site: SiteStatus, at: float) -> tuple[str, str]:
        age = None if site.last_good_at is None else at - site.last_good_at
        if age is None or age >= self.offline_after:
            return "offline", f"no usable frame ({site.last_status or 'never sampled'})"
        if age >= self.stale_after:
            return "stale", f"last usable frame {age:.0f} s ago ({site.last_status})"
        if site.last_status == SampleStatus.DEFERRED:
            return "live", "waiting for its first count"
        if site.last_status in GOOD:
            return "live", "ok"
        if site.last_status in PICTURE_PROBLEMS:
            return "degraded", f"picture problem: {site.last_status}"
        return "degraded", f"last grab failed: {site.last_status}"
