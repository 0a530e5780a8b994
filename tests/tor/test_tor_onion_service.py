"""OnionService against a real tor confined to a loopback-only namespace, offline."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.tor.onion import OnionError, OnionService, OnionSettings

V3_ADDRESS = re.compile(r"[a-z2-7]{56}\.onion")
CLIENT_KEYS = tuple(base64.b32encode(bytes([i]) * 32).decode().rstrip("=") for i in (1, 2))


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_start_returns_a_v3_address_and_a_key_before_bootstrap(
        onion_service: OnionService) -> None:
    started = time.monotonic()
    address, key = onion_service.start(8471, None)
    assert time.monotonic() - started < 10  # offline: no waiting for the network
    assert V3_ADDRESS.fullmatch(address)
    assert key.startswith("ED25519-V3:")
    assert onion_service.pid is not None
    # The safety guarantee itself: this tor is not in our network namespace.
    assert os.readlink(f"/proc/{onion_service.pid}/ns/net") != os.readlink("/proc/self/ns/net")


def test_same_key_same_address_after_restart(onion_service: OnionService) -> None:
    address, key = onion_service.start(8471, None)
    onion_service.stop()
    assert onion_service.start(8471, key) == (address, key)


def test_stop_ends_tor_and_is_idempotent(onion_service: OnionService) -> None:
    onion_service.start(8471, None)
    pid = onion_service.pid
    assert pid is not None
    onion_service.stop()
    onion_service.stop()
    assert onion_service.pid is None
    assert _gone(pid)


def test_tor_data_stays_in_the_store_and_holds_no_onion_key(
        onion_service: OnionService, onion_settings: OnionSettings) -> None:
    _address, key = onion_service.start(8471, None)
    secret = base64.b64decode(key.split(":", 1)[1])
    data_dir = onion_settings.data_dir
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert (data_dir / "notice.log").exists()
    for path in data_dir.rglob("*"):
        assert "hs_ed25519" not in path.name
        if path.is_file():
            content = path.read_bytes()
            assert secret[:32] not in content
            assert key.split(":", 1)[1].encode() not in content


def test_client_auth_keys_are_accepted(onion_settings: OnionSettings) -> None:
    service = OnionService(OnionSettings(onion_settings.data_dir, onion_settings.tor_binary,
                                         onion_settings.extra_torrc, CLIENT_KEYS))
    try:
        address, _key = service.start(8471, None)
        assert V3_ADDRESS.fullmatch(address)
    finally:
        service.stop()


def test_pow_defence_requested_when_tor_supports_it(onion_service: OnionService) -> None:
    onion_service.start(8471, None)
    modules = subprocess.run(["tor", "--list-modules"], capture_output=True, text=True,
                             check=False).stdout
    # tor 0.4.9.2+ refuses unknown ADD_ONION keywords, so this start proves it took the flag.
    assert onion_service.pow_defence == ("pow: yes" in modules)


def test_bad_torrc_line_is_a_clear_error_and_leaves_no_tor(
        onion_settings: OnionSettings) -> None:
    service = OnionService(OnionSettings(onion_settings.data_dir, onion_settings.tor_binary,
                                         ("DisableNetwork 1", "UseBridges maybe")))
    with pytest.raises(OnionError, match=r"Tor stopped at once.*UseBridges"):
        service.start(8471, None)
    assert service.pid is None


def test_missing_tor_binary_is_a_clear_error(tmp_path: Path) -> None:
    service = OnionService(OnionSettings(tmp_path / "tor", tor_binary=str(tmp_path / "no-tor")))
    with pytest.raises(OnionError, match="Tor is not installed"):
        service.start(8471, None)


_KILLED_OWNER = """
import os, sys
from pathlib import Path
from app.tor.onion import OnionService, OnionSettings
service = OnionService(OnionSettings(Path(sys.argv[1]), sys.argv[2], ("DisableNetwork 1",)))
service.start(8471, None)
print(service.pid, flush=True)
os.kill(os.getpid(), 9)
"""


def test_tor_does_not_outlive_a_killed_kuager(onion_settings: OnionSettings) -> None:
    """SIGKILL skips every clean-up: TAKEOWNERSHIP makes tor exit when our connection drops."""
    result = subprocess.run(
        [sys.executable, "-c", _KILLED_OWNER, str(onion_settings.data_dir),
         str(onion_settings.tor_binary)],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == -9, result.stderr
    assert _gone(int(result.stdout.split()[0]), timeout=15)
