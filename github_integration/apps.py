from django.apps import AppConfig


class GitHubIntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "github_integration"
    verbose_name = "GitHub integration"

    def ready(self):
        # Links a GitHub sign-in to the maintainers with the same GitHub user id.
        from github_integration import signin  # noqa: F401
