"""Pure functions of app.tor.onion: torrc text, ADD_ONION line, validation, --tor-config parsing."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from app.tor import onion
from app.tor.onion import OnionError, read_torrc_lines

KEY = "ED25519-V3:" + base64.b64encode(bytes(range(64))).decode()
CLIENT_KEY = base64.b32encode(bytes(32)).decode().rstrip("=")


def test_read_torrc_lines_skips_comments_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "bridges.conf"
    path.write_text("# bridges\n\nUseBridges 1\n  Bridge obfs4 192.0.2.1:443 AB cert=x  \n",
                    encoding="utf-8")
    assert read_torrc_lines(path) == ("UseBridges 1", "Bridge obfs4 192.0.2.1:443 AB cert=x")


def test_read_torrc_lines_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OnionError, match="Cannot read the Tor configuration file"):
        read_torrc_lines(tmp_path / "missing.conf")


@pytest.mark.parametrize("line", [
    "HiddenServiceDir /tmp/hs",        # would write an onion key to disk in plaintext
    "ControlPort 0.0.0.0:9051",        # would open tor's control to the network
    "DataDirectory /tmp/elsewhere",    # would move tor's state out of the store
    "__OwningControllerProcess 1",
    "CookieAuthentication 0",
    # Spellings tor accepts too: abbreviations, internal options, includes.
    "ControlP 0.0.0.0:9051",
    "__ControlPort 0.0.0.0:9052",
    "Cookie 0",
    "DataDir /elsewhere",
    "%include /tmp/more.conf",
    "ORPort 9001",                     # would make this machine a relay and publish its address
    "SocksPort 0.0.0.0:9050",
    "Log debug file /tmp/tor.log",
    "ClientTransportPlugin obfs4 exec /bin/sh",
    "ClientTransportPlugin obfs4 exec obfs4proxy",
])
def test_only_bridge_proxy_and_test_network_options_are_accepted(line: str) -> None:
    with pytest.raises(OnionError, match="does not accept this Tor option"):
        onion.torrc_text(Path("/x"), (line,))


@pytest.mark.parametrize("line", [
    "UseBridges 1",
    "Bridge obfs4 192.0.2.10:443 0123456789ABCDEF0123456789ABCDEF01234567 cert=x iat-mode=0",
    "ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy",
    "ClientTransportPlugin obfs4 exec /usr/bin/lyrebird",
    "DisableNetwork 1",
    "TestingTorNetwork 1",
    "DirAuthority a0 orport=15000 no-v2 v3ident=AB 127.0.0.1:15100 CD",
    "HTTPSProxy 127.0.0.1:8118",
])
def test_bridges_proxies_and_test_networks_are_accepted(line: str) -> None:
    assert line in onion.torrc_text(Path("/x"), (line,))


def test_torrc_confines_control_and_logs(tmp_path: Path) -> None:
    text = onion.torrc_text(tmp_path, ("DisableNetwork 1",))
    assert f'ControlPort unix:"{tmp_path}/control.sock"' in text
    assert "SocksPort 0" in text
    assert f"__OwningControllerProcess {os.getpid()}" in text
    assert f"Log notice file {tmp_path}/notice.log" in text
    assert text.endswith("DisableNetwork 1\n")


def test_long_paths_fall_back_to_a_loopback_control_port() -> None:
    lines = onion.control_lines(Path("/" + "d" * 120))
    assert lines[0] == "ControlPort 127.0.0.1:auto"
    assert lines[1].startswith("ControlPortWriteToFile ")


def test_add_onion_command_forwards_only_to_the_public_port() -> None:
    line = onion.add_onion_command(None, 8471, (), pow_defence=False)
    assert line == ("ADD_ONION NEW:ED25519-V3 Flags=MaxStreamsCloseCircuit MaxStreams=8 "
                    "Port=80,127.0.0.1:8471")


def test_add_onion_command_with_key_auth_and_pow() -> None:
    line = onion.add_onion_command(KEY, 8471, (CLIENT_KEY.lower(), CLIENT_KEY), pow_defence=True)
    assert line == (f"ADD_ONION {KEY} Flags=V3Auth,MaxStreamsCloseCircuit MaxStreams=8 "
                    f"PoWDefensesEnabled=1 Port=80,127.0.0.1:8471 "
                    f"ClientAuthV3={CLIENT_KEY} ClientAuthV3={CLIENT_KEY}")


@pytest.mark.parametrize("bad_key", [
    "ED25519-V3:short", KEY + "\r\nSETCONF ControlPort=0.0.0.0:1", "RSA1024:" + KEY[11:], "",
])
def test_damaged_stored_keys_never_reach_tor(bad_key: str) -> None:
    with pytest.raises(OnionError, match="damaged"):
        onion.check_private_key(bad_key)


@pytest.mark.parametrize("bad", ["A" * 51, "A" * 53, "1" * 52, CLIENT_KEY[:-1] + " ",
                                 CLIENT_KEY + " ClientAuthV3=" + CLIENT_KEY])
def test_bad_client_keys_are_refused(bad: str) -> None:
    with pytest.raises(OnionError, match="52 characters"):
        onion.normalise_client_key(bad)


def test_client_key_accepts_tor_browser_auth_file_form() -> None:
    assert onion.normalise_client_key(f"descriptor:x25519:{CLIENT_KEY.lower()}") == CLIENT_KEY


def test_missing_tor_is_a_clear_error() -> None:
    with pytest.raises(OnionError, match="Tor is not installed"):
        onion.find_tor("/nonexistent/tor")
