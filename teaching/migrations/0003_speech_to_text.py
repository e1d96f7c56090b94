"""Speech-to-text draft captions (issue #16): ``Caption.machine`` becomes ``machine_made``; a video's ``Transcription``."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("teaching", "0002_cue_search"),
        ("videos", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="caption", old_name="machine", new_name="machine_made"),
        migrations.AlterField(
            model_name="caption",
            name="machine_made",
            field=models.BooleanField(
                default=False,
                help_text="Made by speech-to-text (teaching.speech): a draft for an editor to correct. "
                "An editor's upload in its language replaces it and clears this.",
            ),
        ),
        migrations.CreateModel(
            name="Transcription",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Being made"),
                            ("done", "Made"),
                            ("skipped", "Not made"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=8,
                    ),
                ),
                (
                    "reason",
                    models.CharField(blank=True, help_text="Why it was not made, or failed.", max_length=300),
                ),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "video",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transcription",
                        to="videos.video",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["pending", "done", "skipped", "failed"])),
                        name="teaching_transcription_status_valid",
                    )
                ],
            },
        ),
    ]
