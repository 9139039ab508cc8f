"""Heartbeats of the background parts, where every process of the portal reads them."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a background part (the worker, beat): in the database,
    so that the web process reads what a worker or beat in another process wrote, with
    any cache backend (a per-process memory cache included)."""

    page_data = False  # read by /readyz and /metrics, which are never cached

    class Part(models.TextChoices):
        WORKER = "worker"
        BEAT = "beat"

    part = models.CharField(max_length=16, choices=Part.choices, primary_key=True)
    at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.part} at {self.at:%Y-%m-%d %H:%M:%S}"
