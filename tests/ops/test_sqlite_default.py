"""`make run`'s default: SQLite, the filesystem broker and the local cache, with nothing set.
The suite runs on PostgreSQL; this runs the portal's signed-in pages on SQLite, in a process
of its own, so a query that only PostgreSQL accepts cannot break the demo."""

import json
import os

from tests import processes

PAGES = ["/me/", "/reviews/", "/adherence/", "/ci/", "/ci/bisections/", "/sync/", "/audit/"]
SCRIPT = f"""
import json
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import Group, Permission
from django.test import Client

carol = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
carol = carol.objects.create_user("carol", is_staff=True)
carol.groups.add(Group.objects.create(name="team"))
carol.user_permissions.add(Permission.objects.first())
SocialAccount.objects.create(user=carol, provider="github", uid="583231")
client = Client()
client.force_login(carol)
print(json.dumps({{url: client.get(url, HTTP_HOST="127.0.0.1").status_code for url in {PAGES!r}}}))
"""


def test_signed_in_pages_answer_on_the_default_sqlite_database(tmp_path):
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    migrated = processes.manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    result = processes.manage("shell", "-c", SCRIPT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses == dict.fromkeys(PAGES, 200)
