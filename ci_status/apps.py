from django.apps import AppConfig


class CiStatusConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ci_status"
