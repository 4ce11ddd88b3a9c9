#!/bin/sh
# The stream function's handler. With AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap, the Lambda Web Adapter
# (its layer) runs this script, waits for GET /ready, then forwards each invocation to uvicorn as an
# HTTP request and streams the response body back (AWS_LWA_INVOKE_MODE=response_stream).
# /opt/python holds the Powertools and stream-dependency layers.
export PYTHONPATH="${LAMBDA_TASK_ROOT:-.}:/opt/python:${PYTHONPATH:-}"
exec python3 -m uvicorn lambda_src.handlers.chat_stream:app \
  --host 127.0.0.1 --port "${AWS_LWA_PORT:-8080}" --lifespan off --no-access-log --log-level warning
