"""The web server under a simulated worker load, for `attendance bench web` (run as its own
process, so its memory is its own): `python -m attendance.bench.web_server DB PORT RATE`.

The load is what the embedded worker would publish: RATE sample events a second on the live
bus, spread over every site, each with a count near the site's last one.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import select

from attendance.config import DatabaseSettings, Settings
from attendance.live.bus import EventBus
from attendance.live.events import SampleEvent
from attendance.store.db import make_engine, transaction
from attendance.store.models import Site
from attendance.web.app import create_app

TICK_S = 0.05


async def serve(db: str, port: int, rate: float) -> None:
    settings = Settings(database=DatabaseSettings(url=db))
    engine = make_engine(settings.database)
    with transaction(engine) as session:
        codes = list(session.scalars(select(Site.code)))
    bus = EventBus()
    runner = web.AppRunner(create_app(settings, engine, bus), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    load = asyncio.create_task(_publish(bus, codes, rate))
    print("ready", flush=True)
    await stop.wait()
    load.cancel()
    await runner.cleanup()


async def _publish(bus: EventBus, codes: list[str], rate: float) -> None:
    rng = random.Random(1)
    counts = {code: rng.randint(20, 80) for code in codes}
    owed = 0.0
    while True:
        await asyncio.sleep(TICK_S)
        owed += rate * TICK_S
        slot = datetime.now(UTC)
        while owed >= 1:
            owed -= 1
            code = rng.choice(codes)
            counts[code] = max(0, counts[code] + rng.randint(-2, 2))
            bus.publish(SampleEvent(code, slot, "ok", counts[code], lag_s=1.0, detect_ms=150.0))


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
