"""`dagyard tokens create USER [--name N] | list | revoke ID`: API tokens for scripts."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from orchestrator.models import TOKEN_PREFIX, ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. A new token is shown once and stored hashed."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="create a token for a user")
        create.add_argument("user")
        create.add_argument("--name", default="cli", help="a label for the token")
        commands.add_parser("list", help="list tokens (never their secrets)")
        revoke = commands.add_parser("revoke", help="revoke a token by its id (dgy_<id>_...)")
        revoke.add_argument("key_id")

    def handle(self, *args, **options) -> None:
        if options["command"] == "create":
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user is named {options['user']!r}")
            _token, text = ApiToken.issue(user=user, name=options["name"])
            self.stdout.write(text)
            self.stderr.write("Keep it now: Dagyard stores only its hash and cannot show it again.")
        elif options["command"] == "list":
            for token in ApiToken.objects.select_related("user"):
                used = token.last_used_at.isoformat() if token.last_used_at else "never used"
                self.stdout.write(
                    f"{TOKEN_PREFIX}_{token.key_id}_...  {token.user}  {token.name}  {used}"
                )
        else:
            key_id = options["key_id"].removeprefix(f"{TOKEN_PREFIX}_").split("_")[0]
            deleted, _ = ApiToken.objects.filter(key_id=key_id).delete()
            if not deleted:
                raise CommandError(f"no token has the id {key_id!r}")
            self.stdout.write(f"revoked {TOKEN_PREFIX}_{key_id}_...")
