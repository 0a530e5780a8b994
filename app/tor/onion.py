"""Kuager's own tor process and the v3 onion service in front of the public submission site.

``OnionService.start`` launches the system ``tor`` with a torrc we generate, drives it over its
control connection with stem, and adds an *ephemeral* onion service (ADD_ONION) whose private
key the caller keeps inside the encrypted store. Tor never writes that key to disk, so a seized
disk holds no onion key in plaintext, and the service forwards only to the public site's port,
so no onion visitor can reach an operator page. See docs/TOR.md.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import stem
import stem.control
import stem.response
import stem.version
from flask_babel import gettext as _

__all__ = ["OnionError", "OnionService", "OnionSettings", "read_torrc_lines"]

#: The onion service's virtual port: visitors type a plain http://….onion/ address.
VIRTUAL_PORT = 80
#: Tor's own ADD_ONION keywords for the proof-of-work DoS defence (proposal 327) exist from
#: 0.4.9.2-alpha on (tor ChangeLog, "Minor feature (onion service, control port)").
POW_MIN_VERSION = stem.version.Version("0.4.9.2")
#: Offline, tor answers on its control connection in ~0.3 s; a slow USB stick gets 30 s.
START_TIMEOUT = 30.0
#: A stored key must look exactly like what tor handed out: nothing else reaches the
#: control line, so a tampered value cannot smuggle a second control command in.
_KEY_RE = re.compile(r"ED25519-V3:[A-Za-z0-9+/]{86}==")
#: A v3 client-auth public key: 32 bytes of x25519 in unpadded base32.
CLIENT_KEY_RE = re.compile(r"[A-Z2-7]{52}")
_SERVICE_ID_RE = re.compile(r"[a-z2-7]{56}")
#: torrc options that Kuager sets itself. Letting --tor-config override them could open the
#: control port to other users, move tor's data out of the store, or (HiddenService*) write
#: an onion key to disk in plaintext.
#: The only options ``--tor-config`` may set: bridges and proxies for censored networks,
#: DisableNetwork, and a private test network. An allowlist, compared exactly: tor also
#: accepts abbreviated names, ``__`` internal options and ``%include``, any of which could
#: otherwise open the control port, move the data folder or publish the operator port.
_ALLOWED_OPTIONS = frozenset({
    "usebridges", "bridge", "clienttransportplugin", "disablenetwork",
    "reachableaddresses", "fascistfirewall", "clientuseipv6", "clientpreferipv6orport",
    "httpsproxy", "httpsproxyauthenticator", "socks4proxy", "socks5proxy",
    "socks5proxyusername", "socks5proxypassword",
    "testingtornetwork", "dirauthority", "alternatedirauthority", "alternatebridgeauthority",
})
#: Pluggable transports ``ClientTransportPlugin … exec PATH`` may start (by file name).
_TRANSPORT_PROGRAMS = frozenset({"obfs4proxy", "lyrebird", "snowflake-client",
                                 "meek-client", "webtunnel-client", "conjure-client"})
MAX_STREAMS = 8
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


class OnionError(Exception):
    """One clear, user-actionable message (tor missing, failed to start, control refused...)."""


@dataclass(frozen=True)
class OnionSettings:
    data_dir: Path                      # tor's DataDirectory: <store>/tor (created 0700)
    tor_binary: str | None = None       # None: $KUAGER_TOR, else `tor` on PATH or /usr/sbin
    extra_torrc: tuple[str, ...] = ()   # lines from --tor-config FILE
    client_auth_keys: tuple[str, ...] = ()  # x25519 public keys (base32); empty = open


def read_torrc_lines(path: Path) -> tuple[str, ...]:
    """The option lines of a --tor-config FILE: comments and blank lines dropped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OnionError(_("Cannot read the Tor configuration file %(path)s: %(reason)s",
                           path=str(path), reason=getattr(exc, "strerror", None) or exc)) from exc
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def find_tor(configured: str | None) -> str:
    """The tor program to run. Debian installs it in /usr/sbin, which is not on a user's PATH."""
    name = configured or os.environ.get("KUAGER_TOR") or "tor"
    found = shutil.which(name) or (shutil.which("/usr/sbin/tor") if name == "tor" else None)
    if not found:
        raise OnionError(_("Tor is not installed or not found (%(name)s). Install it "
                           "(sudo apt install tor) or set KUAGER_TOR to the tor program.",
                           name=name))
    return found


def tor_supports_pow(tor: str, version: stem.version.Version) -> bool:
    """Whether ADD_ONION may ask for the PoW defence: tor >= 0.4.9.2 built with its ``pow``
    module (tor accepts the keyword without the module and then silently does nothing)."""
    if version < POW_MIN_VERSION:
        return False
    try:
        out = subprocess.run([tor, "--list-modules"], capture_output=True, text=True,  # noqa: S603 - fixed argv
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return re.search(r"^pow: yes$", out, re.MULTILINE) is not None


def check_private_key(private_key: str) -> str:
    if not _KEY_RE.fullmatch(private_key):
        raise OnionError(_("The stored onion service key is damaged; remove it to get a new "
                           "address."))
    return private_key


def normalise_client_key(key: str) -> str:
    """A reporter's x25519 public key as tor wants it; raises OnionError on anything else."""
    key = key.strip().upper().removeprefix("DESCRIPTOR:X25519:")
    if not CLIENT_KEY_RE.fullmatch(key):
        raise OnionError(_("A client authorisation key is 52 characters of A-Z and 2-7."))
    return key


def _transport_allowed(line: str) -> bool:
    """``ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy``: only known transports."""
    words = line.split()
    if len(words) < 4 or words[2].lower() != "exec":
        return False
    return Path(words[3]).is_absolute() and Path(words[3]).name in _TRANSPORT_PROGRAMS


def check_extra_torrc(lines: tuple[str, ...]) -> tuple[str, ...]:
    for line in lines:
        option = line.split(maxsplit=1)[0].lower() if line.strip() else ""
        allowed = option in _ALLOWED_OPTIONS and "\n" not in line and "\r" not in line
        if allowed and option == "clienttransportplugin":
            allowed = _transport_allowed(line)
        if not allowed:
            raise OnionError(_("Kuager does not accept this Tor option in the configuration "
                               "file (only bridges, proxies, DisableNetwork and a private test "
                               "network): %(line)s", line=line.strip()[:80]))
    return lines


def add_onion_command(key: str | None, target_port: int, client_keys: tuple[str, ...],
                      pow_defence: bool) -> str:
    """The ADD_ONION line. Built here, not by stem's create_ephemeral_hidden_service, which
    can neither pass several ClientAuthV3 keys nor the PoW keywords (stem 1.8.2 is the last
    release). The only target is the public site on 127.0.0.1: operator pages stay out of
    reach. No Detach flag: the service dies with our control connection, so with Kuager."""
    parts = ["ADD_ONION", check_private_key(key) if key else "NEW:ED25519-V3"]
    # At most MAX_STREAMS open streams per circuit, and a circuit that asks for more is
    # closed: one visitor cannot hold every thread of the public listener.
    flags = ["V3Auth"] if client_keys else []
    parts.append("Flags=" + ",".join([*flags, "MaxStreamsCloseCircuit"]))
    parts.append(f"MaxStreams={MAX_STREAMS}")
    if pow_defence:
        parts.append("PoWDefensesEnabled=1")
    parts.append(f"Port={VIRTUAL_PORT},127.0.0.1:{int(target_port)}")
    parts += [f"ClientAuthV3={normalise_client_key(k)}" for k in client_keys]
    return " ".join(parts)


def _quoted(path: Path) -> str:
    """A torrc string value: spaces and Windows backslashes survive tor's C-style unquoting."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def control_lines(data_dir: Path) -> tuple[str, ...]:
    """Where tor listens for us. A unix socket in our 0700 folder where there is one: no other
    user, and no web page making cross-protocol requests to 127.0.0.1, can reach it. Else
    (Windows, a very long path) an ephemeral loopback port; the cookie guards it."""
    sock = data_dir / "control.sock"
    if os.name == "posix" and len(str(sock)) < _UNIX_PATH_MAX:
        return (f"ControlPort unix:{_quoted(sock)}",)
    port_file = _quoted(data_dir / "control.port")
    return ("ControlPort 127.0.0.1:auto", f"ControlPortWriteToFile {port_file}")


def torrc_text(data_dir: Path, extra: tuple[str, ...]) -> str:
    lines = (
        f"DataDirectory {_quoted(data_dir)}",
        *control_lines(data_dir),
        "CookieAuthentication 1",
        # No SOCKS port: Kuager serves, it does not browse.
        "SocksPort 0",
        # A log file, not a pipe: an unread pipe blocks tor after ~64 KB of log.
        f"Log notice file {data_dir / 'notice.log'}",  # tor takes the rest of the line as is
        # Tor exits by itself if Kuager dies without stopping it.
        f"__OwningControllerProcess {os.getpid()}",
        *check_extra_torrc(extra),
    )
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _quiet_stem() -> Iterator[None]:
    """stem 1.8.2 (its last release) still calls Thread.setDaemon, deprecated in Python 3.10."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"setDaemon\(\) is deprecated", DeprecationWarning)
        yield


def _log_tail(data_dir: Path, lines: int = 3) -> str:
    """Tor's last words: parse errors go to stdout before the log file is open."""
    text = ""
    for name in ("tor-stdout.log", "notice.log"):
        with contextlib.suppress(OSError):
            text += (data_dir / name).read_text(encoding="utf-8", errors="replace")
    wanted = [ln for ln in text.splitlines() if "[warn]" in ln or "[err]" in ln]
    return " / ".join(ln.split("] ", 1)[-1] for ln in (wanted or text.splitlines())[-lines:])


class OnionService:
    """One tor process that Kuager starts, owns and stops, and one onion service in it."""

    def __init__(self, settings: OnionSettings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._controller: stem.control.Controller | None = None
        self._service_id: str | None = None
        #: Whether tor was asked for the proof-of-work DoS defence (shown to the operator).
        self.pow_defence = False

    def start(self, target_port: int, private_key: str | None) -> tuple[str, str]:
        """Launch tor, add the service; returns ("<id>.onion", key to keep in the store).
        Does not wait for tor to bootstrap: offline, the address is known at once and the
        service comes up whenever tor reaches the network."""
        if self._process is not None:
            raise OnionError(_("The onion service is already running."))
        tor = find_tor(self.settings.tor_binary)
        command = add_onion_command(private_key, target_port, self.settings.client_auth_keys,
                                    pow_defence=False)  # validated before tor runs
        atexit.register(self.stop)
        try:
            self._launch(tor)
            controller = self._controller = self._connect()
            self.pow_defence = tor_supports_pow(tor, controller.get_version())
            if self.pow_defence:
                command = add_onion_command(private_key, target_port,
                                            self.settings.client_auth_keys, pow_defence=True)
            return self._add_onion(command, private_key)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Remove the service and end our tor; safe to call twice, and at exit."""
        atexit.unregister(self.stop)
        controller, self._controller = self._controller, None
        if controller is not None:
            with contextlib.suppress(stem.ControllerError, OSError):
                if self._service_id:
                    controller.remove_ephemeral_hidden_service(self._service_id)
            controller.close()
        self._service_id = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def running(self) -> bool:
        """False once the tor we started has exited (crashed, killed, out of memory)."""
        return self._process is not None and self._process.poll() is None

    def _launch(self, tor: str) -> None:
        data_dir = self.settings.data_dir
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data_dir.chmod(0o700)  # tor refuses a DataDirectory others can read
        for stale in ("control.sock", "control.port"):
            (data_dir / stale).unlink(missing_ok=True)
        torrc = data_dir / "torrc"
        torrc.write_text(torrc_text(data_dir, self.settings.extra_torrc), encoding="utf-8")
        empty_defaults = data_dir / "torrc-defaults"
        empty_defaults.write_text("", encoding="utf-8")  # ignore /etc/tor/torrc-defaults
        with (data_dir / "tor-stdout.log").open("wb") as out:
            try:
                self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    [tor, "-f", str(torrc), "--defaults-torrc", str(empty_defaults)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            except OSError as exc:
                raise OnionError(_("Could not run tor (%(tor)s): %(reason)s",
                                   tor=tor, reason=exc.strerror or exc)) from exc

    def _connect(self) -> stem.control.Controller:
        """Wait (bounded) for the control listener, then authenticate with tor's cookie."""
        deadline = time.monotonic() + START_TIMEOUT
        while (controller := self._try_connect()) is None:
            if self._process is None or self._process.poll() is not None:
                raise OnionError(_("Tor stopped at once: %(why)s",
                                   why=_log_tail(self.settings.data_dir)))
            if time.monotonic() > deadline:
                raise OnionError(_("Tor did not open its control connection within "
                                   "%(n)d seconds.", n=int(START_TIMEOUT)))
            time.sleep(0.1)
        try:
            controller.authenticate()
            # Tor exits as soon as this connection closes, even if Kuager is killed.
            controller.msg("TAKEOWNERSHIP")
        except (stem.ControllerError, OSError) as exc:
            controller.close()
            raise OnionError(_("Tor refused Kuager's control connection: %(reason)s",
                               reason=exc)) from exc
        return controller

    def _try_connect(self) -> stem.control.Controller | None:
        data_dir = self.settings.data_dir
        try:
            if (data_dir / "control.sock").exists():
                with _quiet_stem():
                    return stem.control.Controller.from_socket_file(str(data_dir / "control.sock"))
            port_line = (data_dir / "control.port").read_text(encoding="ascii").strip()
        except (OSError, stem.SocketError):
            return None
        _host, _sep, port = port_line.rpartition(":")
        with contextlib.suppress(stem.SocketError, ValueError), _quiet_stem():
            return stem.control.Controller.from_port("127.0.0.1", int(port))
        return None

    def _add_onion(self, command: str, private_key: str | None) -> tuple[str, str]:
        try:
            reply = self._controller.msg(command)  # type: ignore[union-attr] # set by start
            stem.response.convert("ADD_ONION", reply)
        except (stem.ControllerError, OSError) as exc:
            raise OnionError(_("Tor refused to create the onion service: %(reason)s",
                               reason=exc)) from exc
        service_id = str(reply.service_id)
        if not _SERVICE_ID_RE.fullmatch(service_id):
            raise OnionError(_("Tor answered with an unexpected onion address."))
        self._service_id = service_id
        key = private_key or f"{reply.private_key_type}:{reply.private_key}"
        return f"{service_id}.onion", check_private_key(key)
