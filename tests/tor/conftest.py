"""Fixtures for the Tor tests. Every tor started here is confined to a network namespace that
has only loopback: nothing can reach the public Tor network or any outside address."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tor.onion import OnionService, OnionSettings

from .netns import Netns, isolated_tor_wrapper, require_tools
from .testnet import TorTestNet


@pytest.fixture
def offline_tor(tmp_path: Path) -> str:
    """A `tor` that runs in a fresh namespace of its own (no network but a downed lo)."""
    return isolated_tor_wrapper(tmp_path)


@pytest.fixture
def onion_settings(tmp_path: Path, offline_tor: str) -> OnionSettings:
    """Unit-test settings: confined tor, and DisableNetwork 1 as a second safety belt."""
    return OnionSettings(data_dir=tmp_path / "store" / "tor", tor_binary=offline_tor,
                         extra_torrc=("DisableNetwork 1",))


@pytest.fixture
def onion_service(onion_settings: OnionSettings) -> Iterator[OnionService]:
    service = OnionService(onion_settings)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def netns() -> Iterator[Netns]:
    """One loopback-only namespace for the test network, the app and its tor."""
    work = Path(tempfile.mkdtemp(prefix="kuager-netns-"))
    namespace = Netns(work)
    yield namespace
    namespace.close()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def tor_testnet(netns: Netns) -> Iterator[TorTestNet]:
    """A bootstrapped private Tor network (3 authorities, 1 relay, 1 client) inside `netns`.
    Unix socket paths must stay short, hence a folder under /tmp, not pytest's tmp_path."""
    tools = require_tools("tor", "tor-gencert")
    work = Path(tempfile.mkdtemp(prefix="kuager-tornet-"))
    os.chmod(work, 0o700)
    net = TorTestNet(netns, work / "net", tools["tor"], tools["tor-gencert"])
    try:
        net.start()
        net.wait_bootstrapped()
        yield net
    finally:
        net.stop()
        shutil.rmtree(work, ignore_errors=True)
