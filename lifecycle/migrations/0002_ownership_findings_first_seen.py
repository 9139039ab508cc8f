from django.db import migrations, models

TRIAGE_OR_MORE = {"triage", "write", "maintain", "admin"}


def first_seen_from_open_gaps(apps, schema_editor):
    """Checks that find a problem today: it was first seen when the portal opened its gap
    (else at this check)."""
    OwnershipCheck = apps.get_model("lifecycle", "OwnershipCheck")
    Gap = apps.get_model("adherence", "Gap")
    opened = {
        (technique_id, rule_id): at
        for technique_id, rule_id, at in Gap.objects.filter(
            resolved_at=None, rule_id__in=["maintainers-triage", "codeowners-drift"]
        ).values_list("technique_id", "rule_id", "opened_at")
    }
    for check in OwnershipCheck.objects.all():
        key = check.technique_id
        if any(p not in TRIAGE_OR_MORE for p in check.permissions.values()):
            check.triage_lacking_since = opened.get((key, "maintainers-triage"), check.checked_at)
        if check.missing_in_codeowners or check.extra_in_codeowners:
            check.codeowners_drift_since = opened.get((key, "codeowners-drift"), check.checked_at)
        check.save(update_fields=["triage_lacking_since", "codeowners_drift_since"])


class Migration(migrations.Migration):
    dependencies = [
        ("lifecycle", "0001_initial"),
        ("adherence", "0003_gap_newest_first"),
    ]

    operations = [
        migrations.AddField(
            model_name="ownershipcheck",
            name="codeowners_drift_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ownershipcheck",
            name="triage_lacking_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(first_seen_from_open_gaps, migrations.RunPython.noop),
    ]
