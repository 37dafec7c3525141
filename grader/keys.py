"""The lab's store of access keys, and masking so secrets never show in full.

``aws iam create-access-key`` prints a secret exactly once.  The lab keeps
it in a file readable by its owner only (mode 0600), inside the lab
directory, so later steps can configure the bot's profile without the
secret ever appearing in a notebook output.
"""

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

STORE_NAME = "access-keys.json"
_SECRET_FIELD = re.compile(r'("SecretAccessKey"\s*:\s*")([A-Za-z0-9/+=]{8,})(")')


@dataclass(frozen=True)
class AccessKey:
    """An access key pair; its repr and str show the secret masked."""

    user: str
    id: str
    secret: str

    def __repr__(self):
        masked = mask(self.secret)
        return f"AccessKey(user={self.user!r}, id={self.id!r}, secret={masked!r})"

    __str__ = __repr__


def mask(secret):
    """All but the last four characters of ``secret`` replaced by ``*``."""
    if len(secret) <= 4:
        return "*" * len(secret)
    return "*" * (len(secret) - 4) + secret[-4:]


def mask_text(text, secrets=()):
    """``text`` with every SecretAccessKey value and every known secret masked."""
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + mask(m.group(2)) + m.group(3), text)
    for secret in secrets:
        if secret and len(secret) > 4:
            text = text.replace(secret, mask(secret))
    return text


def store_path(lab_dir):
    """Where the lab keeps created access keys."""
    return Path(lab_dir) / STORE_NAME


def save_access_key(lab_dir, key):
    """Record ``key`` in the lab's key store, created with mode 0600."""
    keys = [k for k in load_access_keys(lab_dir) if k.id != key.id] + [key]
    data = [{"user": k.user, "id": k.id, "secret": k.secret} for k in keys]
    path = store_path(lab_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(path, 0o600)


def load_access_keys(lab_dir):
    """Every key in the lab's key store, oldest first; empty if none."""
    path = store_path(lab_dir)
    if not path.exists():
        return []
    return [AccessKey(**item) for item in json.loads(path.read_text())]


def latest_access_key(lab_dir, user):
    """The newest stored key of ``user``, or None."""
    keys = [k for k in load_access_keys(lab_dir) if k.user == user]
    return keys[-1] if keys else None


def keys_from_cli_output(stdout):
    """The AccessKey in ``aws iam create-access-key`` JSON output, or None."""
    try:
        created = json.loads(stdout)["AccessKey"]
        return AccessKey(
            created["UserName"], created["AccessKeyId"], created["SecretAccessKey"]
        )
    except (ValueError, KeyError, TypeError):
        return None
