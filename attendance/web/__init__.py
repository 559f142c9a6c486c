"""The dashboard, the REST API, live updates and the operational endpoints (aiohttp)."""
