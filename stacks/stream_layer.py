"""The stream function's dependency layer (starlette, uvicorn and theirs), built without Docker or network.

lambda_src/requirements-stream.txt pins pure-Python packages only, and `make install` installs exactly
those versions here. Their files are copied from this environment into ``python/`` of a layer folder
(Lambda puts /opt/python on sys.path): the same bytes pip would unpack from the same wheels on Lambda's
arm64 Python. A pin this environment does not hold, or a compiled file, stops the synth: such a package
would need a platform wheel (pip --platform manylinux2014_aarch64) instead.

Built once per pin set into a folder named by the pins' hash, like the chat page (page_build.py).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "lambda_src" / "requirements-stream.txt"
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
# Installer bookkeeping that differs between machines; the layer's hash must not.
SKIPPED_METADATA = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")


class LayerBuildError(RuntimeError):
    pass


def pins(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    found = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, separator, version = line.partition("==")
            if not separator:
                raise LayerBuildError(f"{requirements.name}: {line!r} is not pinned with ==")
            found[name.strip()] = version.strip()
    return found


def build_layer(out: Path, requirements: Path = REQUIREMENTS) -> None:
    target = out / "python"
    for name, version in pins(requirements).items():
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise LayerBuildError(f"{name} is not installed: run make install") from None
        if distribution.version != version:
            raise LayerBuildError(
                f"{name} {distribution.version} is installed, {version} is pinned: make install"
            )
        for file in distribution.files or []:
            parts = Path(str(file)).parts
            if parts[0] == ".." or "__pycache__" in parts or parts[-1] in SKIPPED_METADATA:
                continue  # console scripts outside site-packages, bytecode, installer records
            if str(file).endswith(COMPILED_SUFFIXES):
                raise LayerBuildError(f"{name} ships compiled code ({file}); it needs a platform wheel")
            destination = target / Path(str(file))
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(distribution.locate_file(file))), destination)


def built_stream_layer(requirements: Path = REQUIREMENTS) -> Path:
    target = Path(tempfile.gettempdir()) / (
        f"chatbot-stream-layer-{hashlib.sha256(requirements.read_bytes()).hexdigest()[:20]}"
    )
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="chatbot-stream-layer-build-"))
        build_layer(staging / "layer", requirements)
        try:
            os.rename(staging / "layer", target)
        except OSError:
            if not target.exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
