"""Every virtualenv is installed from a hashed lock file, and each lock holds exactly the versions its
requirements*.txt pin (a pin changed without `make lock` fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scan.lock_files import ENTRY, lock_entries, normalize
from tests.infra.conftest import REPO_ROOT

LOCKS = {
    "requirements-dev.lock": ["requirements-dev.txt"],
    "requirements-scan.lock": ["requirements-scan.txt"],
    "requirements-runtime.lock": ["lambda_src/requirements.txt", "requirements-test.txt"],
}


def _pins(path: Path, seen: set[Path] | None = None) -> dict[str, str]:
    """What a requirements file pins, following its -r includes."""
    seen = seen or set()
    seen.add(path)
    lines = path.read_text().splitlines()
    pins = {normalize(found[1]): found[2] for found in map(ENTRY.match, lines) if found}
    for include in re.findall(r"^-r\s+(\S+)", path.read_text(), re.M):
        target = (path.parent / include).resolve()
        if target not in seen:
            pins.update(_pins(target, seen))
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_what_the_requirements_pin_and_hashes_every_package(lock: str) -> None:
    entries = lock_entries((REPO_ROOT / lock).read_text())
    locked = {e.name: e.version for e in entries}
    wanted: dict[str, str] = {}
    for source in LOCKS[lock]:
        wanted.update(_pins(REPO_ROOT / source))
    drift = {
        name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version
    }
    assert drift == {}, f"{lock} is out of step with its requirements (pinned, locked): run make lock"
    unhashed = [e.name for e in entries if not e.hashes]
    assert unhashed == []


def test_every_virtualenv_is_installed_from_its_lock_with_hashes_required() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    installs = re.findall(r"^\t.*\$\(PIP_INSTALL\) (\S+)$", makefile, re.M)
    assert sorted(installs) == sorted(LOCKS)
    pip_install = re.search(r"^PIP_INSTALL := (.*)$", makefile, re.M)
    assert pip_install is not None
    assert "--require-hashes --no-deps -r" in pip_install[1]
    assert not re.search(r"pip install(?!.*PIP_INSTALL).*-r requirements", makefile)
