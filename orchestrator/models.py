"""Per-user API tokens, kept only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "dgy"  # noqa: S105 - a visible prefix, not a secret


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A token for scripts: `Authorization: Token dgy_<id>_<secret>`. Only the secret's hash is
    stored; the whole token is shown once, when it is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user}, {TOKEN_PREFIX}_{self.key_id}_...)"

    @classmethod
    def issue(cls, *, user, name: str) -> tuple[ApiToken, str]:
        """Create a token; returns it with the full text, which is never stored or shown again."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_id=key_id, secret_hash=hash_token(secret)
        )
        return token, f"{TOKEN_PREFIX}_{key_id}_{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_token(secret))
