from django.apps import AppConfig


class CiStatusConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ci_status"
    verbose_name = "GitHub and CI"

    def ready(self):
        import ci_status.landing  # noqa: F401 - registers its landing-page sections
        from ci_status import rules  # noqa: F401 - registers rules and fact loaders
        from ci_status.panels import community_panel
        from techniques.panels import register_panel

        register_panel(community_panel, order=40)
