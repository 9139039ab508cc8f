"""A random secret per gap issue, part of its marker: an issue carrying another
gap's id is never found again as this one."""

import secrets

from django.db import migrations, models


def give_secrets(apps, schema_editor):
    GapIssue = apps.get_model("github_integration", "GapIssue")
    for record in GapIssue.objects.filter(secret=""):
        record.secret = secrets.token_hex(16)
        if record.number is None:  # not on GitHub yet: the new marker is the one to find
            record.marker = f"tfmot-portal-gap-{record.gap_id}-{record.secret}"
        record.save(update_fields=["secret", "marker"])


class Migration(migrations.Migration):
    dependencies = [("github_integration", "0002_gap_issue_state")]

    operations = [
        migrations.AddField(
            model_name="gapissue",
            name="secret",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.RunPython(give_secrets, migrations.RunPython.noop),
    ]
