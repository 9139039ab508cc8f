"""Production settings whose collectstatic only hashes the names, without the gzip and
brotli copies (most of collectstatic's ~20 s: the API docs' bundles and their maps).

For tests that need gunicorn in production mode but not compressed static files: they
collect with these settings and run the server with the real ones, which read the same
manifest (staticfiles.json) and serve the files under the same hashed names.
"""

from tfmot_portal.settings import *  # noqa: F403
from tfmot_portal.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
