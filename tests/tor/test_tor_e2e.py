"""End to end over a private Tor network on loopback (no internet; see testnet.py).

Everything runs in one loopback-only namespace: the test network, the app, the app's tor. The
test process talks to the client tor through its unix sockets only.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stem.control
import stem.response.events
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.tor.onion import OnionService, OnionSettings

from .netns import Netns, require_tools, stop_processes
from .socks import SocksError, fetch
from .standin_app import MARKER
from .testnet import TorTestNet

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]

STANDIN_PORT = 18080
#: Bounds, not expectations: on an idle machine the descriptor is up in a few seconds, but
#: CI on a loaded machine must not fail by chance. Each wait ends as soon as its event comes.
UPLOAD_TIMEOUT = 300.0
#: After the upload the client still has to fetch the descriptor and build circuits.
REACH_TIMEOUT = 180.0
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


class DescriptorUploads:
    """HS_DESC events of a service's tor, over a second control connection of our own.

    Attached right after ADD_ONION returns: tor first has to build introduction circuits
    before it can upload, which takes far longer than opening this connection.
    """

    def __init__(self, control_socket: Path) -> None:
        self._uploaded: set[str] = set()
        self._changed = threading.Condition()
        self.controller = stem.control.Controller.from_socket_file(str(control_socket))
        self.controller.authenticate()
        self.controller.add_event_listener(self._event, stem.control.EventType.HS_DESC)

    def _event(self, event: stem.response.events.HSDescEvent) -> None:
        if event.action == "UPLOADED":
            with self._changed:
                self._uploaded.add(str(event.address))
                self._changed.notify_all()

    def wait(self, service_id: str, timeout: float = UPLOAD_TIMEOUT) -> float:
        """Seconds until one HSDir confirmed our descriptor (bounded by ``timeout``)."""
        started = time.monotonic()
        with self._changed:
            if not self._changed.wait_for(lambda: service_id in self._uploaded, timeout):
                raise TimeoutError(f"no HS_DESC UPLOADED for {service_id} in {timeout:.0f} s")
        return time.monotonic() - started

    def close(self) -> None:
        self.controller.close()


@contextlib.contextmanager
def watch_uploads(service: OnionService) -> Iterator[DescriptorUploads]:
    uploads = DescriptorUploads(service.settings.data_dir / "control.sock")
    try:
        yield uploads
    finally:
        uploads.close()


def forget_cached_descriptors(net: TorTestNet) -> None:
    """NEWNYM: the client drops cached onion descriptors and fetches the fresh one."""
    with stem.control.Controller.from_socket_file(str(net.control_socket)) as ctl:
        ctl.authenticate()
        ctl.signal(stem.Signal.NEWNYM)


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


# stem 1.8.2 (its last release) calls Thread.setDaemon, deprecated since Python 3.10.
@pytest.mark.filterwarnings(r"ignore:setDaemon\(\) is deprecated:DeprecationWarning")
def test_onion_reachable_and_same_address_after_restart(
        tor_testnet: TorTestNet, netns: Netns, standin: int, short_dir: Path) -> None:
    service = _service(netns, tor_testnet, short_dir / "tor")
    try:
        address, key = service.start(standin, None)
        assert service.pid is not None
        assert netns.contains(service.pid)
        service_id = address.removesuffix(".onion")
        with watch_uploads(service) as uploads:
            print(f"descriptor uploaded after {uploads.wait(service_id):.1f} s")
        started = time.monotonic()
        status, _headers, body = get_with_retry(tor_testnet, address, "/hello")
        print(f"first onion response {time.monotonic() - started:.1f} s after the upload")
        assert (status, body) == (200, MARKER + b" /hello")
        service.stop()
        assert service.start(standin, key) == (address, key)
        with watch_uploads(service) as uploads:
            print(f"descriptor re-uploaded after {uploads.wait(service_id):.1f} s")
        # The client still holds the descriptor of the tor that stopped (dead intro points).
        forget_cached_descriptors(tor_testnet)
        started = time.monotonic()
        status, _headers, body = get_with_retry(tor_testnet, address)
        print(f"onion response after restart {time.monotonic() - started:.1f} s after upload")
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
