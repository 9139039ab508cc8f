"""The same application for an ASGI server (``tfmot_portal.asgi:application``); the
portal's own scripts serve it over WSGI (wsgi.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")

application = get_asgi_application()
