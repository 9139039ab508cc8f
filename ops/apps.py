from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the portal: health, metrics, request ids in logs, export and restore."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from ops import signals  # noqa: F401 - connects the Celery and model signals
