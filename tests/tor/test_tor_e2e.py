"""End to end over a private Tor network on loopback (no internet; see testnet.py).

Everything runs in one loopback-only namespace: the test network, the app, the app's tor. The
test process talks to the client tor through its unix sockets only.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stem.control
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.tor.onion import OnionService, OnionSettings

from .netns import Netns, require_tools, stop_processes
from .socks import SocksError, fetch
from .standin_app import MARKER
from .testnet import TorTestNet

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]

STANDIN_PORT = 18080
#: After ADD_ONION the descriptor takes a few seconds to be published: 0xF0 until then.
REACH_TIMEOUT = 90.0
RETRYABLE = {0xF0, 0xF2, 0xF3, 0xF6, 0xF7, 0x01, 0x04, 0x06}


def get_with_retry(net: TorTestNet, host: str, path: str = "/",
                   timeout: float = REACH_TIMEOUT) -> tuple[int, dict[str, str], bytes]:
    """GET through the client tor, retrying while the onion is not yet reachable (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fetch(net.socks_socket, host, path)
        except SocksError as exc:
            if exc.code not in RETRYABLE or time.monotonic() > deadline:
                raise
        except (TimeoutError, ConnectionError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


@pytest.fixture
def standin(netns: Netns) -> Iterator[int]:
    server = subprocess.Popen(netns.argv(sys.executable, str(Path(__file__).with_name(
        "standin_app.py")), str(STANDIN_PORT)), stdin=subprocess.DEVNULL)
    yield STANDIN_PORT
    stop_processes([server])


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Under /tmp: tor's unix control socket path must stay short."""
    path = Path(tempfile.mkdtemp(prefix="kuager-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _service(netns: Netns, net: TorTestNet, data_dir: Path,
             client_keys: tuple[str, ...] = ()) -> OnionService:
    tor = require_tools("tor")["tor"]
    return OnionService(OnionSettings(data_dir=data_dir, tor_binary=netns.wrapper(tor),
                                      extra_torrc=net.testing_torrc(),
                                      client_auth_keys=client_keys))


def test_onion_reachable_and_same_address_after_restart(
        tor_testnet: TorTestNet, netns: Netns, standin: int, short_dir: Path) -> None:
    service = _service(netns, tor_testnet, short_dir / "tor")
    try:
        address, key = service.start(standin, None)
        assert service.pid is not None
        assert netns.contains(service.pid)
        started = time.monotonic()
        status, _headers, body = get_with_retry(tor_testnet, address, "/hello")
        print(f"first onion response after {time.monotonic() - started:.1f} s")
        assert (status, body) == (200, MARKER + b" /hello")
        service.stop()
        assert service.start(standin, key) == (address, key)
        status, _headers, body = get_with_retry(tor_testnet, address)
        assert status == 200
    finally:
        service.stop()


def _client_keypair() -> tuple[str, str]:
    """(public base32 for the service, private base64 for the client), as Tor Browser does."""
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    return (base64.b32encode(public).decode().rstrip("="),
            base64.b64encode(private.private_bytes_raw()).decode())


# stem 1.8.2 (its last release) calls Thread.setDaemon, deprecated since Python 3.10.
@pytest.mark.filterwarnings(r"ignore:setDaemon\(\) is deprecated:DeprecationWarning")
def test_client_auth_keeps_out_visitors_without_the_key(
        tor_testnet: TorTestNet, netns: Netns, standin: int, short_dir: Path) -> None:
    public, private = _client_keypair()
    service = _service(netns, tor_testnet, short_dir / "tor", (public,))
    try:
        address, _key = service.start(standin, None)
        with pytest.raises(SocksError) as refused:
            get_with_retry(tor_testnet, address)
        assert refused.value.code == 0xF4  # client authorisation missing
        with stem.control.Controller.from_socket_file(str(tor_testnet.control_socket)) as ctl:
            ctl.authenticate()
            reply = ctl.msg(f"ONION_CLIENT_AUTH_ADD {address.removesuffix('.onion')} "
                            f"x25519:{private}")
            # 252: "Registered client and decrypted desc" (the descriptor was already cached).
            assert reply.content()[0][0] in {"250", "251", "252"}, str(reply)
        status, _headers, body = get_with_retry(tor_testnet, address)
        assert (status, body) == (200, MARKER + b" /")
    finally:
        service.stop()
