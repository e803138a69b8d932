"""Create (or update the password of) the admin named by DJANGO_SUPERUSER_*."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user from DJANGO_SUPERUSER_USERNAME/PASSWORD when set."

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not username or not password:
            self.stdout.write(
                "DJANGO_SUPERUSER_USERNAME/PASSWORD not set: no admin created"
            )
            return
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"email": os.environ.get("DJANGO_SUPERUSER_EMAIL", "")},
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Admin {username!r} {'created' if created else 'updated'}")
