"""Every virtualenv is installed from a hashed lock file, and each lock holds exactly the versions its
requirements*.txt pin (a pin changed without `make lock` fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.conftest import REPO_ROOT

LOCKS = {
    "requirements-dev.lock": ["requirements-dev.txt"],
    "requirements-scan.lock": ["requirements-scan.txt"],
    "requirements-runtime.lock": ["lambda_src/requirements.txt", "requirements-test.txt"],
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path, seen: set[Path] | None = None) -> dict[str, str]:
    """What a requirements file pins, following its -r includes."""
    seen = seen or set()
    seen.add(path)
    pins = {_name(name): version for name, version in PIN.findall(path.read_text())}
    for include in re.findall(r"^-r\s+(\S+)", path.read_text(), re.M):
        target = (path.parent / include).resolve()
        if target not in seen:
            pins.update(_pins(target, seen))
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_what_the_requirements_pin_and_hashes_every_package(lock: str) -> None:
    text = (REPO_ROOT / lock).read_text()
    locked = {_name(name): version for name, version in PIN.findall(text)}
    wanted: dict[str, str] = {}
    for source in LOCKS[lock]:
        wanted.update(_pins(REPO_ROOT / source))
    drift = {
        name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version
    }
    assert drift == {}, f"{lock} is out of step with its requirements (pinned, locked): run make lock"
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [entry.split()[0] for entry in entries if entry.strip() and "--hash=sha256:" not in entry]
    assert unhashed == []


def test_every_virtualenv_is_installed_from_its_lock_with_hashes_required() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    installs = re.findall(r"^\t.*\$\(PIP_INSTALL\) (\S+)$", makefile, re.M)
    assert sorted(installs) == sorted(LOCKS)
    pip_install = re.search(r"^PIP_INSTALL := (.*)$", makefile, re.M)
    assert pip_install is not None
    assert "--require-hashes --no-deps -r" in pip_install[1]
    assert not re.search(r"pip install(?!.*PIP_INSTALL).*-r requirements", makefile)
