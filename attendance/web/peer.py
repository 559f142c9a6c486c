"""Who is on the other end of a request: the client's address, also behind a reverse proxy."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address

from aiohttp import web

from attendance.web.keys import SETTINGS


def client_address(request: web.Request) -> str:
    """The connecting peer's address; when that is one of `web.trusted_proxies`, the nearest
    address in X-Forwarded-For that is not a trusted proxy. Read from the right: a proxy appends
    the address it saw, while everything to the left of it is whatever the client wrote."""
    proxies = request.app[SETTINGS].web.trusted_proxies
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
    ]
    chain = [request.remote or "", *reversed(hops)]
    return next((a for a in chain if not in_networks(a, proxies)), chain[-1])


def in_networks(address: str, networks: Iterable[IPv4Network | IPv6Network]) -> bool:
    """Whether `address` lies in one of `networks` (an unparsable address: never)."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)
