from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from arena.models import ApiToken
from arena.tokens import token_create


class Command(BaseCommand):
    help = "Create an API token for a staff user (printed once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="script")
        parser.add_argument("--scope", action="append", choices=[s.lower() for s in ApiToken.Scope.values], required=True)

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"], is_staff=True, is_active=True).first()
        if user is None:
            raise CommandError(f"no active staff user {opts['username']!r}")
        _, token = token_create(user=user, name=opts["name"], scopes=[s.upper() for s in opts["scope"]])
        self.stdout.write(token)
