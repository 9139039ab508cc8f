from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reviews"

    def ready(self):
        import reviews.landing  # noqa: F401 - registers its landing-page sections
        from reviews import panels, rules  # noqa: F401 - registers the panel and the rule
