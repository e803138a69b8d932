"""Print a new API token for a user, creating the user when missing."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.services.api_tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Create and print a new API token for USERNAME (Authorization: Token KEY); "
        "creates the user when missing. Only a hash is stored: the token is shown "
        "this once. Earlier tokens stay valid until revoked or expired."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--staff", action="store_true", help="make the user staff")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="lifetime in days (default CODEQUEST_API_TOKEN_DAYS; 0: no expiry)",
        )

    def handle(self, *args, **options):
        username = options["username"].strip()
        if not username or len(username) > 150 or "\x00" in username:
            raise CommandError("USERNAME must be 1 to 150 characters")
        if options["days"] is not None and not 0 <= options["days"] <= 3650:
            raise CommandError("--days must be between 0 and 3650")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
        if options["staff"] and not user.is_staff:
            user.is_staff = True
        user.save()
        _, token = api_token_create(user=user, days=options["days"])
        self.stdout.write(token)
