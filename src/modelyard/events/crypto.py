"""Encryption of webhook secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The operator configures ``MODELYARD_WEBHOOK_SECRET_KEY``: one Fernet key, or several separated
by commas for rotation (the first encrypts, every one decrypts). Without a key, ``SecretBox``
refuses to encrypt: a webhook with a secret is rejected instead of being stored in the clear.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from modelyard.errors import InvalidArgumentError, UnavailableError

KEY_SETTING = "MODELYARD_WEBHOOK_SECRET_KEY"


def generate_key() -> str:
    """A new random key for ``MODELYARD_WEBHOOK_SECRET_KEY``."""
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts and decrypts webhook secrets with the configured key(s)."""

    def __init__(self, keys: str | None) -> None:
        self._fernet: MultiFernet | None = None
        if keys and keys.strip():
            try:
                self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
            except (ValueError, TypeError) as exc:
                raise InvalidArgumentError(
                    f"{KEY_SETTING} is not a valid key: use 32 url-safe base64-encoded bytes, e.g. the output of "
                    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
                    setting=KEY_SETTING,
                ) from exc

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def encrypt(self, secret: str) -> str:
        if self._fernet is None:
            raise InvalidArgumentError(
                f"this server has no key to encrypt webhook secrets with, so it will not store one: the operator "
                f"must set {KEY_SETTING} (or create the webhook without a secret)",
                field="secret",
                setting=KEY_SETTING,
            )
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        if self._fernet is None:
            raise UnavailableError(
                f"a webhook secret is stored but {KEY_SETTING} is not set; cannot sign deliveries", setting=KEY_SETTING
            )
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise UnavailableError(
                f"a webhook secret cannot be decrypted with the configured {KEY_SETTING} (was the key rotated "
                "without keeping the old one?)",
                setting=KEY_SETTING,
            ) from exc
