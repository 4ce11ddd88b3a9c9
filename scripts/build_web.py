"""Build the chat page into a folder, as synth does (the build itself is stacks/page_build.py).

python -m scripts.build_web [out-dir]     # default: build/web
"""

from __future__ import annotations

import sys
from pathlib import Path

from stacks.page_build import DEFAULT_OUT, build_site

if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for name, path in build_site(out=target).items():
        print(f"{name} -> {path}")
