"""Redis names of one deployment, all under its prefix (deployments may share a Redis)."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_JOB = "sample"  # the arq function that records one slot of one site


@dataclass(frozen=True)
class Names:
    prefix: str

    @property
    def leader(self) -> str:
        return f"{self.prefix}:scheduler:leader"

    @property
    def workers(self) -> str:
        """Sorted set: worker id → its last heartbeat (Redis clock, ms)."""
        return f"{self.prefix}:workers"

    def queue(self, worker: str) -> str:
        """Each worker takes jobs from its own queue: a site's slots go where its stream is."""
        return f"{self.prefix}:queue:{worker}"

    def job_id(self, site_id: int, slot: float) -> str:
        """One job per (site, slot): arq refuses a second enqueue of the same id."""
        return f"{self.prefix}:{site_id}:{round(slot * 1000)}"

    @staticmethod
    def site_of(job_id: str) -> int:
        return int(job_id.rsplit(":", 2)[1])
