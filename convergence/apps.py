from django.apps import AppConfig


class ConvergenceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "convergence"
