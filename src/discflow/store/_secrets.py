"""The server key, and the agent tokens sealed with it.

Invariants:
- An agent token is in the database only as its sha256 (to find the device a
  bearer token belongs to) and sealed (Fernet: AES-CBC + HMAC) with a key that
  is not in the database, for the dispatcher, which must present it to the
  agent. A leaked database gives neither a token nor a way to make one.
- The key is ``DISCFLOW_SECRET_KEY`` when set, else ``<data_dir>/secret.key``
  (made with mode 0600 on first use). Every process of one installation
  (server workers, dispatcher, CLI) must see the same key: a sealed token
  that does not open says so and names ``discflow device rotate-token``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from discflow.errors import DiscflowError
from discflow.settings import Settings

KEY_FILE = "secret.key"
_lock = threading.Lock()
_cache: dict[tuple[str, str], Fernet] = {}


class SealBroken(DiscflowError):
    """A sealed secret does not open with this installation's key."""


def _key_text(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(32)
    try:
        # O_EXCL: two processes starting at once agree on the first one's key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as sink:
        sink.write(text + "\n")
    return text


def _fernet() -> Fernet:
    settings = Settings()
    where = (settings.secret_key, str(Path(settings.data_dir).resolve()))
    with _lock:
        sealer = _cache.get(where)
        if sealer is None:
            material = hashlib.sha256(b"discflow agent tokens\0" + _key_text(settings).encode())
            sealer = Fernet(base64.urlsafe_b64encode(material.digest()))
            _cache[where] = sealer
        return sealer


def digest(secret: str) -> str:
    """The sha256 a secret is looked up by (tokens are random: no salt or stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def unseal(sealed: str, *, what: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SealBroken(
            f"the stored {what} does not open with this installation's secret key "
            "(DISCFLOW_SECRET_KEY or <data_dir>/secret.key changed?); give it a new one with "
            "'discflow device rotate-token NAME'"
        ) from None
