from django.apps import AppConfig


class TechniquesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "techniques"
    verbose_name = "Technique registry"

    def ready(self):
        # Connects the signals that invalidate the public page cache.
        from techniques import audit, cache  # noqa: F401
