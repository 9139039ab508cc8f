"""Page-cache counters by scope name (``data``, ``registry``, ``app:<label>``,
``technique:<id>``) instead of the two numbered rows."""

from django.db import migrations, models

NAMES = {1: "data", 2: "registry"}


def name_rows(apps, schema_editor):
    """The two rows again under their names, with ids from the table's sequence (the
    old rows had ids chosen by hand: new counters are inserted without one)."""
    DataVersion = apps.get_model("techniques", "DataVersion")
    values = dict(DataVersion.objects.filter(pk__in=NAMES).values_list("pk", "value"))
    DataVersion.objects.all().delete()
    DataVersion.objects.bulk_create(
        DataVersion(name=NAMES[pk], value=value) for pk, value in values.items()
    )


class Migration(migrations.Migration):
    dependencies = [("techniques", "0007_owner_group_team_validator")]

    operations = [
        migrations.AddField(
            model_name="dataversion",
            name="name",
            field=models.CharField(max_length=40, null=True),
        ),
        migrations.RunPython(name_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="dataversion",
            name="name",
            field=models.CharField(max_length=40, unique=True),
        ),
    ]
