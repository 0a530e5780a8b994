"""A private Tor network on loopback (port of /work/shared/recipes/tor-testnet.sh).

3 directory authorities + 1 relay (onion circuits need at least 4 relays) and a client tor,
all inside one `Netns`. The client's SOCKS and control listeners are unix sockets, so the test
process reaches them without joining the namespace. An app's tor joins the network with
`TestingTorNetwork 1` plus `dirauthority_lines`.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .netns import Netns, stop_processes

BASEPORT = 15000
N_AUTHORITIES = 3
N_RELAYS = 1
VOTE_SECONDS = 10
BOOTSTRAP_TIMEOUT = 120.0

_COMMON = """TestingTorNetwork 1
DataDirectory {dir}
Nickname {nick}
Log notice file {dir}/notice.log
SafeLogging 0
ShutdownWaitLength 0
GeoIPFile /dev/null
GeoIPv6File /dev/null
PathsNeededToBuildCircuits 0.67
TestingDirAuthVoteExit *
TestingDirAuthVoteHSDir *
TestingDirAuthVoteGuard *
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
"""
_RELAY = """SocksPort 0
ControlPort 0
ORPort 127.0.0.1:{orport}
DirPort 127.0.0.1:{dirport}
Address 127.0.0.1
ExitRelay 0
ExitPolicy reject *:*
AssumeReachable 1
ContactInfo {nick}@test.invalid
"""
# Fast/Stable are relative flags: force them, or onion circuits in a 4-relay network fail
# ("Failed to find node for hop"); vanguards-lite finds no middle hop in so small a network.
_AUTHORITY = """AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
TestingV3AuthInitialVotingInterval {vote}
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval {vote}
V3AuthVoteDelay 2
V3AuthDistDelay 2
AuthDirFastGuarantee 1 bytes
AuthDirVoteStableGuaranteeMinUptime 0
ConsensusParams vanguards-lite-enabled=0
"""
_CLIENT = """SocksPort unix:{dir}/socks.sock ExtendedErrors
ControlPort unix:{dir}/control.sock
CookieAuthentication 1
ClientOnionAuthDir {dir}/onion_auth
"""


class TorTestNet:
    """Start with `start()`, wait with `wait_bootstrapped()`, always `stop()`."""

    def __init__(self, netns: Netns, work: Path, tor: str, gencert: str) -> None:
        self.netns, self.work, self.tor, self.gencert = netns, work, tor, gencert
        self.dirauthority_lines: tuple[str, ...] = ()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.client_dir = work / "c"
        self.started_at = 0.0
        self.bootstrap_seconds = 0.0

    @property
    def socks_socket(self) -> Path:
        return self.client_dir / "socks.sock"

    @property
    def control_socket(self) -> Path:
        return self.client_dir / "control.sock"

    def testing_torrc(self) -> tuple[str, ...]:
        """Lines for an app's tor to join this network (and only this network)."""
        return ("TestingTorNetwork 1", *self.dirauthority_lines)

    def start(self) -> None:
        self.work.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dirauthority_lines = tuple(self._make_authority(i) for i in range(N_AUTHORITIES))
        nodes = [(f"a{i}", i, _AUTHORITY) for i in range(N_AUTHORITIES)]
        nodes += [(f"r{i}", 10 + i, "") for i in range(N_RELAYS)]
        self.started_at = time.monotonic()
        for nick, index, role in nodes:
            self._launch(nick, self._relay_torrc(nick, index) + role.format(vote=VOTE_SECONDS))
        (self._node_dir("c") / "onion_auth").mkdir(mode=0o700, exist_ok=True)
        self._launch("c", _CLIENT.format(dir=self.client_dir))

    def wait_bootstrapped(self) -> float:
        """Seconds from start until the client tor reports 100% (bounded)."""
        log = self.client_dir / "notice.log"
        deadline = self.started_at + BOOTSTRAP_TIMEOUT
        while "Bootstrapped 100%" not in _read(log):
            if time.monotonic() > deadline:
                raise TimeoutError(f"test network not bootstrapped: {_read(log)[-500:]}")
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError("a tor of the test network exited")
            time.sleep(0.25)
        self.bootstrap_seconds = time.monotonic() - self.started_at
        return self.bootstrap_seconds

    def stop(self) -> None:
        stop_processes(self.processes)
        self.processes.clear()

    def _node_dir(self, nick: str) -> Path:
        path = self.work / nick
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # tor refuses a data or socket folder that others can read
        return path

    def _relay_torrc(self, nick: str, index: int) -> str:
        return _RELAY.format(orport=BASEPORT + index, dirport=BASEPORT + 100 + index, nick=nick)

    def _make_authority(self, index: int) -> str:
        """Authority keys with tor-gencert; returns the DirAuthority line naming them."""
        nick, keys = f"a{index}", self._node_dir(f"a{index}") / "keys"
        keys.mkdir(mode=0o700, exist_ok=True)
        dirport = BASEPORT + 100 + index
        subprocess.run(
            [self.gencert, "--create-identity-key", "--passphrase-fd", "0", "-m", "12",
             "-i", str(keys / "authority_identity_key"), "-s", str(keys / "authority_signing_key"),
             "-c", str(keys / "authority_certificate"), "-a", f"127.0.0.1:{dirport}"],
            input=b"\n", capture_output=True, check=True, timeout=60)
        fingerprint = subprocess.run(
            self.netns.argv(self.tor, "--ignore-missing-torrc", "-f", "/dev/null",
                            "--DataDirectory", str(self.work / nick), "--ORPort", "1",
                            "--Nickname", nick, "--list-fingerprint", "--quiet"),
            capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()[-1]
        v3ident = next(line.split()[1] for line in _read(keys / "authority_certificate")
                       .splitlines() if line.startswith("fingerprint "))
        return (f"DirAuthority {nick} orport={BASEPORT + index} no-v2 v3ident={v3ident} "
                f"127.0.0.1:{dirport} {''.join(fingerprint.split()[1:])}")

    def _launch(self, nick: str, role_torrc: str) -> None:
        node = self._node_dir(nick)
        torrc = node / "torrc"
        torrc.write_text(_COMMON.format(dir=node, nick=nick) + role_torrc
                         + "\n".join(self.dirauthority_lines) + "\n", encoding="utf-8")
        with (node / "stdout.log").open("wb") as out:
            self.processes.append(subprocess.Popen(
                self.netns.argv(self.tor, "-f", str(torrc), "--RunAsDaemon", "0"),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
