"""Configuration: one frozen object, read once from ``KUAGER_*`` variables and options.

Derived paths are properties so that every module agrees on where the store lives and no
module builds a path of its own (a path built twice is a plaintext file waiting to happen).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATA_DIR = "instance"
DEFAULT_PORT = 8470

MIB = 1024 * 1024


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    #: Largest request the operator pages accept (uploads included).
    max_request_bytes: int = 2048 * MIB
    #: Largest request the public submission site accepts: smaller, because anyone can send one.
    public_max_request_bytes: int = 64 * MIB
    #: Submissions the public site accepts per hour from everyone together. Behind Tor every
    #: visitor arrives from 127.0.0.1, so a per-visitor limit would be meaningless.
    public_submissions_per_hour: int = 60
    #: Minutes of inactivity after which the operator is locked out again.
    idle_lock_minutes: int = 15
    default_locale: str = "ru"
    #: Extra mapping merged into Flask's config (tests only).
    flask_overrides: dict[str, object] = field(default_factory=dict)

    @property
    def key_file(self) -> Path:
        return self.data_dir / "kuager.key"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "kuager.db"

    @property
    def files_dir(self) -> Path:
        """Encrypted attachment files, under random names."""
        return self.data_dir / "files"

    @property
    def spool_dir(self) -> Path:
        """Encrypted upload spools and import staging (every byte encrypted, random names)."""
        return self.data_dir / "spool"

    @property
    def inbox_drop_dir(self) -> Path:
        """Public submissions sealed while the store was locked (inbox mode): age files to
        the coordinators, taken into the store at the next unlock (exchange/inbox.py)."""
        return self.data_dir / "inbox-drop"

    @property
    def tor_dir(self) -> Path:
        return self.data_dir / "tor"

    def with_data_dir(self, data_dir: Path) -> Config:
        return replace(self, data_dir=data_dir)


def _int_env(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero")
    return value


def load_config(
    data_dir: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None
) -> Config:
    """The one parser of ``KUAGER_*`` variables; fails with a message naming the variable."""
    env = dict(os.environ if env is None else env)
    chosen = data_dir or env.get("KUAGER_DATA") or DEFAULT_DATA_DIR
    locale = env.get("KUAGER_DEFAULT_LOCALE", "ru")
    if locale not in ("kk", "ru", "en"):
        raise ConfigError(f"KUAGER_DEFAULT_LOCALE must be kk, ru or en, not {locale!r}")
    return Config(
        data_dir=Path(chosen).expanduser().absolute(),
        max_request_bytes=_int_env(env, "KUAGER_MAX_REQUEST_MIB", 2048) * MIB,
        public_max_request_bytes=_int_env(env, "KUAGER_PUBLIC_MAX_REQUEST_MIB", 64) * MIB,
        public_submissions_per_hour=_int_env(env, "KUAGER_PUBLIC_SUBMISSIONS_PER_HOUR", 60),
        idle_lock_minutes=_int_env(env, "KUAGER_IDLE_LOCK_MINUTES", 15),
        default_locale=locale,
    )
