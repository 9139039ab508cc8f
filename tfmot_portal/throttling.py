"""DRF throttles keyed on the portal's client address (``tfmot_portal.client_address``).

DRF's own ``get_ident`` reads ``X-Forwarded-For`` as the client wrote it unless
``NUM_PROXIES`` is set, so a client that writes a new one on each request is a new
client to every throttle; these take the address the trusted proxies forwarded.
"""

from __future__ import annotations

from rest_framework import throttling

from tfmot_portal.client_address import client_address


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def get_ident(self, request) -> str:
        return client_address(request)
