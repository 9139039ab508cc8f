"""The address of the client behind the portal's trusted proxies.

Behind ``make serve``'s proxy every request arrives from the proxy's address, so a
limit keyed on ``REMOTE_ADDR`` (the sign-in lockout, the API's throttles) would put
every client in one bucket, and an allow-list of addresses would let every client in. A request from a trusted proxy (``FORWARDED_ALLOW_IPS``, the list gunicorn reads)
is attributed to the right-most address of its ``X-Forwarded-For`` that is not itself a
trusted proxy: the address the outermost trusted proxy saw, which a client cannot choose
(addresses it writes itself stand to the left). A request from anywhere else is its
``REMOTE_ADDR``, whatever its headers say.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"]


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address, proxies: list[str]) -> bool:
    if "*" in proxies:
        return True
    return any(address in network for network in _networks(proxies))


def forwarded_client_address(request: HttpRequest, proxies: list[str]) -> str:
    """``request``'s client address when the proxies in ``proxies`` may be believed."""
    remote = request.META.get("REMOTE_ADDR", "")
    peer = _address(remote)
    if peer is None or not _trusted(peer, proxies):
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote  # a malformed hop: nothing to its left can be believed
        if not _trusted(address, proxies):
            return str(address)
    return remote


def client_address(request: HttpRequest) -> str:
    """The one client address of every decision keyed on it: the sign-in lockout
    (django-axes' ``AXES_CLIENT_IP_CALLABLE``), the API's throttles, the wrong-CI-token
    lockout and ``METRICS_ALLOWED_IPS``. In production, behind the trusted proxies, the
    address they forwarded; elsewhere (``make run``: no proxy) ``REMOTE_ADDR``."""
    if settings.PRODUCTION:
        return forwarded_client_address(request, settings.TRUSTED_PROXIES)
    return request.META.get("REMOTE_ADDR", "")
