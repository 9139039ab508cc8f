"""The WSGI application the portal is served with (``tfmot_portal.wsgi:application``
under gunicorn: scripts/serve.sh, deploy/tfmot-web.service)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")

application = get_wsgi_application()
