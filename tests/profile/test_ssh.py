"""The ssh device against a real OpenSSH server that this test starts on loopback (temporary host key, temporary
authorized key, its own port): a profile end to end, and the three failures a user meets (host down, key refused,
wrong architecture)."""

from __future__ import annotations

import getpass
import os
import platform
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgebuild.errors import EdgebuildError
from edgebuild.profile import ProfileOptions, profile_bundle
from edgebuild.run import device_for, run_runner
from edgebuild.targets import load_target

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    user: str
    options: str  # EDGEBUILD_SSH_OPTIONS for a client holding the authorized key
    root: Path

    @property
    def spec(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not os.path.exists(SSHD):
        pytest.fail("sshd not found: install Debian package openssh-server (scripts/setup.sh does)")
    root = tmp_path_factory.mktemp("sshd")
    _keygen(root / "host_key")
    _keygen(root / "client_key")
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = _free_port()
    (root / "sshd_config").write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {root}/host_key
AuthorizedKeysFile {root}/authorized_keys
PidFile {root}/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp /usr/lib/openssh/sftp-server
"""
    )
    # sshd insists on its privilege-separation folder (Debian's service creates it at boot).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stderr=subprocess.PIPE, text=True
    )
    options = f"-i {root}/client_key -o IdentitiesOnly=yes -o UserKnownHostsFile={root}/known_hosts"
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                pytest.fail(f"sshd did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.05)
        yield Server(port, getpass.getuser(), options, root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_run_over_ssh_matches_local(
    sshd: Server, digits_bundle: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEBUILD_SSH_OPTIONS", sshd.options)
    bundle = digits_bundle("host")
    target = load_target("host")
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(1).standard_normal((1, 1, 8, 8)).astype(np.float32))
    got, want = tmp_path / "remote.npy", tmp_path / "local.npy"
    device = device_for(target, sshd.spec)
    doc = run_runner(target, bundle / "edgebuild-run", bundle / "model.ebm", [x], [got], device=device)
    run_runner(target, bundle / "edgebuild-run", bundle / "model.ebm", [x], [want])
    assert doc["status"] == "ok"
    assert np.load(got).tobytes() == np.load(want).tobytes()


def test_profile_over_ssh(
    sshd: Server, digits_bundle: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEBUILD_SSH_OPTIONS", sshd.options)
    prof = profile_bundle(ProfileOptions(digits_bundle("host"), device=sshd.spec, warmup=1, iterations=3))
    assert prof["device"]["kind"] == "ssh" and prof["device"]["name"] == sshd.spec
    assert prof["latency_ms"]["meaningful"] and len(prof["ops"]) > 0
    assert prof["memory"]["tracked_peak_bytes"] > 0


def test_ssh_host_down(digits_bundle: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBUILD_SSH_OPTIONS", "-o UserKnownHostsFile=/dev/null")
    spec = f"ssh://nobody@127.0.0.1:{_free_port()}"  # nothing listens there
    with pytest.raises(EdgebuildError, match="host unreachable"):
        profile_bundle(ProfileOptions(digits_bundle("host"), device=spec, warmup=0, iterations=1))


def test_ssh_key_refused(
    sshd: Server, digits_bundle: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _keygen(tmp_path / "stranger")
    monkeypatch.setenv(
        "EDGEBUILD_SSH_OPTIONS",
        f"-i {tmp_path}/stranger -o IdentitiesOnly=yes -o UserKnownHostsFile={sshd.root}/known_hosts",
    )
    with pytest.raises(EdgebuildError, match="authentication refused"):
        profile_bundle(ProfileOptions(digits_bundle("host"), device=sshd.spec, warmup=0, iterations=1))


def test_ssh_wrong_architecture(
    sshd: Server, digits_bundle: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEBUILD_SSH_OPTIONS", sshd.options)
    here = re.escape(platform.machine())
    with pytest.raises(EdgebuildError, match=rf"is {here} but the bundle's runner is for aarch64"):
        profile_bundle(ProfileOptions(digits_bundle("arm64"), device=sshd.spec, warmup=0, iterations=1))
