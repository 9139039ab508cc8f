from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lifecycle"

    def ready(self):
        # The launch guard (services), the deprecation banner and the rules register here.
        from lifecycle import landing, panels, rules, services  # noqa: F401
