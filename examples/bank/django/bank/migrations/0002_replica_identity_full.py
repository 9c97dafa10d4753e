"""On PostgreSQL, customers and loans log their whole old row in the WAL (REPLICA IDENTITY
FULL): nudge-cdc's rules with ``changed = [...]`` (examples/bank/cdc-rules.toml) compare old and
new values, and Postgres sends old values only for such tables. Nothing to do on SQLite."""

from django.db import migrations

TABLES = ("bank_customer", "bank_loan")


def replica_identity(identity):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} REPLICA IDENTITY {identity}")
    return apply


class Migration(migrations.Migration):

    dependencies = [("bank", "0001_initial")]

    operations = [
        migrations.RunPython(replica_identity("FULL"), replica_identity("DEFAULT")),
    ]
