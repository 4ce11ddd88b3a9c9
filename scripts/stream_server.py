"""The stream app (lambda_src/handlers/chat_stream.py) under uvicorn on 127.0.0.1, in a thread of this
process: for the tests and the bench, which need its figures and moto in the same process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

STARTUP_SECONDS = 10


def serve_stream_app() -> tuple[str, Callable[[], None]]:
    """(base URL, stop)."""
    import uvicorn

    from lambda_src.handlers.chat_stream import app

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the stream app did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return f"http://127.0.0.1:{port}", stop
