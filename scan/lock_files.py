"""The hashed lock files (requirements-*.lock, written by `make lock`) read as entries, for the audit.

A universal lock may hold one package twice, at two versions for two environments (numpy for Python 3.11
and for 3.12+, say), each behind an environment marker. pip-audit, given such a file, keeps only the
lines whose marker matches the interpreter running it, and refuses a name twice. So the audit takes the
markers off and audits the entries in layers, no name twice in a layer: every locked version is checked,
whatever the machine.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class LockEntry:
    name: str
    version: str
    hashes: tuple[str, ...]

    def requirement(self) -> str:
        """The entry as a requirement line, without its environment marker."""
        return " ".join([f"{self.name}=={self.version}", *self.hashes])


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text: str) -> list[LockEntry]:
    """Every requirement of the lock; one this cannot read (a URL, an editable, ===) is an error, never a
    package left out of the audit."""
    entries: list[LockEntry] = []
    for block in re.split(r"\n(?=[^\s#])", text):
        if not block.strip() or block.lstrip().startswith("#"):
            continue
        found = ENTRY.match(block)
        if not found:
            raise ValueError(f"a lock entry the audit cannot read: {block.splitlines()[0][:80]!r}")
        entries.append(LockEntry(normalize(found[1]), found[2], tuple(HASH.findall(block))))
    return entries


def layers(entries: list[LockEntry]) -> list[list[LockEntry]]:
    """The entries in as few groups as can each hold a name once: the n-th version of each name in the
    n-th group."""
    seen: Counter[str] = Counter()
    grouped: list[list[LockEntry]] = []
    for entry in entries:
        index = seen[entry.name]
        seen[entry.name] += 1
        if index == len(grouped):
            grouped.append([])
        grouped[index].append(entry)
    return grouped
