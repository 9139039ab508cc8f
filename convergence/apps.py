from django.apps import AppConfig


class ConvergenceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "convergence"

    def ready(self):
        import convergence.landing  # noqa: F401 - registers its landing-page sections
        from convergence import panels, rules  # noqa: F401 - registers the panel and rules
