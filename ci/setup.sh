#!/usr/bin/env bash
# Set up a checkout of refconv for its main job and its tests, on a fresh machine:
#     bash ci/setup.sh && refconv check
#
# 1. torch, the oracle, as a CPU build *before* anything else, so pip never resolves a
#    multi-GB CUDA build on a CPU-only machine (REFCONV_TORCH: other pip arguments for it);
# 2. refconv itself, editable, with the `test` extra, byte-compiled;
# 3. what the test suite needs outside Python: redis-server (the shared failure database
#    test) and chromium (the HTML report test), from the OS packages when apt-get is there
#    and we may use it; otherwise it says what to install (those two tests then skip, saying
#    why, outside CI; in CI they fail);
# 4. a Python with NumPy 1.23 for `refconv check --python` (tests/test_legacy_python.py),
#    at ~/.cache/refconv-ci/numpy1.23 (REFCONV_LEGACY_PYTHON points the tests at it).
# Run it again at any time: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python}"

if ! "$python" -c "import torch" >/dev/null 2>&1; then
    # shellcheck disable=SC2086 - REFCONV_TORCH is a list of pip arguments
    "$python" -m pip install --quiet ${REFCONV_TORCH:-torch --index-url https://download.pytorch.org/whl/cpu}
fi
"$python" -m pip install --quiet -e '.[test]'
# Byte-compile refconv, as pip does for an installed wheel: an editable install otherwise
# compiles its modules at every start where PYTHONDONTWRITEBYTECODE is set (~0.1 s a check).
"$python" -m compileall -q refconv

missing=()
for tool in redis-server chromium; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "ci/setup.sh: install ${missing[*]} with your system's packages for the tests that need them" >&2
    fi
fi

legacy="${HOME:-/root}/.cache/refconv-ci/numpy1.23"
if ! "$legacy/bin/python" -c "import numpy; assert numpy.__version__ == '1.23.5'" 2>/dev/null; then
    "$python" -m venv --clear "$legacy"
    "$legacy/bin/python" -m pip install --quiet numpy==1.23.5
fi
echo "ci/setup.sh: ready (torch $("$python" -c 'import torch; print(torch.__version__)'))"
