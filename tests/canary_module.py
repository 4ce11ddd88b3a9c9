"""The canary's script as a module: it ships as canary/python/chat_canary.py (Synthetics' layout), outside
any package the tests import from."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

CANARY_SCRIPT = Path(__file__).resolve().parents[1] / "canary" / "python" / "chat_canary.py"


def load_canary() -> ModuleType:
    if "chat_canary" in sys.modules:
        return sys.modules["chat_canary"]
    spec = importlib.util.spec_from_file_location("chat_canary", CANARY_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chat_canary"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
