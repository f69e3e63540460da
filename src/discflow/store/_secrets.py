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
from sqlalchemy.orm import Session

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


def _fernet_for(key_text: str) -> Fernet:
    material = hashlib.sha256(b"discflow agent tokens\0" + key_text.encode())
    return Fernet(base64.urlsafe_b64encode(material.digest()))


def _fernet() -> Fernet:
    settings = Settings()
    where = (settings.secret_key, str(Path(settings.data_dir).resolve()))
    with _lock:
        sealer = _cache.get(where)
        if sealer is None:
            sealer = _fernet_for(_key_text(settings))
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


def rotate_server_key(session: Session) -> tuple[str, Path | None]:
    """Re-seal every agent token under a new server key, in the caller's transaction.

    Returns the new key, and the key file it will replace (None when the key comes
    from ``DISCFLOW_SECRET_KEY``: the operator sets the new value). The new file is
    written beside the old one as ``secret.key.new`` first; ``install_rotated_key``
    renames it once the transaction has committed."""
    from discflow.store._tables import Device  # the table module imports this one

    settings = Settings()
    old = _fernet_for(_key_text(settings))
    new_text = secrets.token_hex(32)
    new = _fernet_for(new_text)
    for device in session.query(Device).filter(Device.agent_token_sealed.is_not(None)):
        assert device.agent_token_sealed is not None
        try:
            clear = old.decrypt(device.agent_token_sealed.encode("ascii"))
        except InvalidToken:
            raise SealBroken(
                f"the agent token of {device.name} does not open with the current key;"
                f" rotate it first with 'discflow device rotate-token {device.name}'"
            ) from None
        device.agent_token_sealed = new.encrypt(clear).decode("ascii")
    if settings.secret_key:
        return new_text, None
    path = settings.data_dir / KEY_FILE
    staged = path.with_name(KEY_FILE + ".new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as sink:
        sink.write(new_text + "\n")
    return new_text, path


def install_rotated_key(path: Path) -> None:
    os.replace(path.with_name(KEY_FILE + ".new"), path)
    with _lock:
        _cache.clear()
