from django.db import migrations, models


def first_row(apps, schema_editor):
    counter = apps.get_model("nudge", "VersionCounter")
    counter.objects.using(schema_editor.connection.alias).get_or_create(pk=1, defaults={"value": 0})


class Migration(migrations.Migration):

    dependencies = [("nudge", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="VersionCounter",
            fields=[
                ("id", models.IntegerField(primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={"db_table": "nudge_version"},
        ),
        migrations.RunPython(first_row, migrations.RunPython.noop),
    ]
