"""The WSGI application the portal is served with (``tfmot_portal.wsgi:application``
under gunicorn: scripts/serve.sh, deploy/tfmot-web.service).

Loading it also loads what Django otherwise loads at a process's first requests: every
view module (through the URL patterns) and every template, compiled into the cached
template loader. gunicorn loads it in its master before forking the workers
(``preload_app``), so a new or recycled worker serves its first request as fast as its
thousandth, and the workers share those objects with the master.
"""

import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")

application = get_wsgi_application()


def warm_up() -> int:
    """Import every view and compile every template; returns the templates compiled."""
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
    from django.template.utils import get_app_template_dirs
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URL conf and every view module
    compiled = 0
    for engine in engines.all():
        dirs = [*engine.dirs, *(get_app_template_dirs("templates") if engine.app_dirs else ())]
        for root in (Path(str(folder)) for folder in dirs):
            for path in sorted(root.rglob("*.html")):
                try:
                    engine.get_template(str(path.relative_to(root)))
                except (TemplateDoesNotExist, TemplateSyntaxError):
                    continue  # a template of another engine or a partial with no parent
                compiled += 1
    return compiled


warm_up()
