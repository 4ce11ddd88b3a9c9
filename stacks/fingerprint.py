"""A content hash of a folder's files: the same files give the same hash, on any machine, at any time."""

from __future__ import annotations

import hashlib
from pathlib import Path

SKIPPED = ("__pycache__",)


def tree_fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*")):
        if file.is_file() and not set(SKIPPED) & set(file.parts) and file.suffix != ".pyc":
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
