"""Build the chat page for S3 and CloudFront: assets get content-hashed names (cached for a year,
immutable), index.html points at them (never cached). Deterministic: the same sources give the same
files, so synth stays free of clocks and randomness.

Synth (stacks/constructs/chat_page.py) and the dev server both use it; `python -m scripts.build_web
[out-dir]` builds into a folder by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from stacks.fingerprint import tree_fingerprint

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = REPO_ROOT / "web" / "src"
DEFAULT_OUT = REPO_ROOT / "build" / "web"
ASSETS = ("auth.js", "stream.js", "answers.js", "replies.js", "app.js", "app.css")


def build_site(source: Path = SOURCE, out: Path = DEFAULT_OUT) -> dict[str, str]:
    """Write ``out/assets/<name>.<hash>.<ext>`` and ``out/entry/index.html``; returns name -> hashed path."""
    if out.exists():
        shutil.rmtree(out)
    (out / "assets").mkdir(parents=True)
    (out / "entry").mkdir(parents=True)
    hashed: dict[str, str] = {}
    for name in ASSETS:
        data = (source / name).read_bytes()
        stem, ext = name.rsplit(".", 1)
        path = f"assets/{stem}.{hashlib.sha256(data).hexdigest()[:16]}.{ext}"
        (out / path).write_bytes(data)
        hashed[name] = path
    index = (source / "index.html").read_text()
    for name, path in hashed.items():
        reference = f'"{name}"'
        if reference not in index:
            raise ValueError(f"index.html does not reference {name}")
        index = index.replace(reference, f'"/{path}"')
    (out / "entry" / "index.html").write_text(index)
    return hashed


def built_site(source: Path = SOURCE) -> Path:
    """The built page for these sources, built once into a folder named by their hash.

    Synth calls this: concurrent synths (tests, CI) never delete each other's files, and a rebuilt
    tree only appears whole (built aside, then renamed into place).
    """
    target = Path(tempfile.gettempdir()) / f"chatbot-web-{tree_fingerprint(source)[:20]}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="chatbot-web-build-"))
        build_site(source, staging / "site")
        try:
            os.rename(staging / "site", target)
        except OSError:
            if not target.exists():  # not merely another process finishing first
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
