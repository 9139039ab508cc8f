from django.apps import AppConfig


class AdherenceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "adherence"

    def ready(self):
        import adherence.landing  # noqa: F401 - registers its landing-page sections
        from adherence import panels, rules  # noqa: F401 - registers rules and the panel
        from adherence.services import evaluation_request
        from techniques.services import register_maintainers_listener

        # The ownership rules judge maintainers: a change of a group's maintainers has
        # its techniques evaluated again.
        register_maintainers_listener(evaluation_request)
