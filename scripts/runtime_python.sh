#!/usr/bin/env bash
# Print the interpreter closest to the Lambda runtime (python3.14) on this machine: 3.14, else 3.13,
# from PATH or from pyenv's versions (pyenv's shims answer only for the active version). Prints nothing
# if there is neither.
set -euo pipefail
for version in 3.14 3.13; do
  for candidate in "$(command -v "python$version" 2>/dev/null || true)" \
                   "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/"python$version"; do
    if [[ -x "$candidate" ]] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      echo "$candidate"
      exit 0
    fi
  done
done
