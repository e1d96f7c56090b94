"""Create the first administrator if there is none (used by `make run`)."""

import os

from django.core.management.base import BaseCommand

from accounts.services import admin_ensure


class Command(BaseCommand):
    help = (
        "Create a superuser (all roles) if none exists. Uses DJANGO_SUPERUSER_USERNAME / "
        "DJANGO_SUPERUSER_PASSWORD / DJANGO_SUPERUSER_EMAIL when set, else 'admin' with a "
        "generated password that is printed once."
    )

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL") or f"{username}@localhost"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or None
        user, generated = admin_ensure(username=username, email=email, password=password)
        if user is None:
            self.stdout.write("An administrator already exists; nothing to do.")
            return
        lines = ["", "=" * 64, f"  First administrator created: {user.username}"]
        if generated:
            lines.append(f"  Password (shown once, write it down): {generated}")
        else:
            lines.append("  Password: the value of DJANGO_SUPERUSER_PASSWORD")
        lines += [
            "  Sign in, then set up two-step verification when asked.",
            "=" * 64,
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
