"""
``Upload.duplicate``: whether a completed upload turned out to be content already in the
library. It was a ``_duplicate`` key hidden in the client's ``Upload-Metadata`` (issue #13,
item 4); existing rows keep their answer.
"""

from django.db import migrations, models

HIDDEN_KEY = "_duplicate"


def move_flag_out_of_metadata(apps, schema_editor):
    Upload = apps.get_model("videos", "Upload")
    for upload in Upload.objects.filter(metadata__has_key=HIDDEN_KEY).only("pk", "metadata"):
        metadata = dict(upload.metadata)
        upload.duplicate = bool(metadata.pop(HIDDEN_KEY))
        upload.metadata = metadata
        upload.save(update_fields=["duplicate", "metadata"])


def put_flag_back(apps, schema_editor):
    Upload = apps.get_model("videos", "Upload")
    for upload in Upload.objects.filter(completed_at__isnull=False).only("pk", "metadata", "duplicate"):
        upload.metadata = {**upload.metadata, HIDDEN_KEY: upload.duplicate}
        upload.save(update_fields=["metadata"])


class Migration(migrations.Migration):
    dependencies = [
        ("videos", "0005_media_revocation"),
    ]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="duplicate",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(move_flag_out_of_metadata, put_flag_back),
    ]
