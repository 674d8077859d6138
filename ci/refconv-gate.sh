#!/usr/bin/env bash
# refconv gate: fail the CI job when an implementation of the seed API does not conform.
#
# Copy this file into your repository and call it from your CI:
#     REFCONV_SPEC=... bash ci/refconv-gate.sh path/to/solution.py [refconv check options]
# TARGET is a .py file, a .ipynb notebook, an importable module or a folder of submissions.
#
# refconv is not on a package index: when the `refconv` command is absent, the gate installs
# it from REFCONV_SPEC, which you must set to one of
#     a checkout or source folder     REFCONV_SPEC=./vendor/refconv
#     a wheel or sdist                REFCONV_SPEC=dist/refconv-0.1.0-py3-none-any.whl
#     a VCS URL                       REFCONV_SPEC=git+https://example.org/you/refconv@v0.1.0
# with the `check` extra (torch, the oracle; hypothesis; redis). torch is installed first
# from the CPU index (REFCONV_TORCH, default: torch from https://download.pytorch.org/whl/cpu)
# unless it is already importable, so pip never resolves a multi-GB CUDA build.
#
# Environment (all optional but REFCONV_SPEC when refconv is absent):
#     REFCONV_SPEC      where pip installs refconv from (see above)
#     REFCONV_TORCH     pip arguments that install torch
#     REFCONV_TIES      torch | subgradient | all  (default: torch)
#     REFCONV_EXAMPLES  examples per function      (default: 100)
#     REFCONV_REPORT    JSON report path           (default: refconv-report.json)
# Exit status: that of `refconv check`: 0 conforms, 1 a function fails, 2 usage/load error;
# 2 as well when no TARGET is given, or refconv is absent and REFCONV_SPEC is unset, or the
# installation fails.
set -uo pipefail

usage() {
    echo "refconv-gate: $1" >&2
    echo "usage: REFCONV_SPEC=PATH|WHEEL|VCS-URL bash refconv-gate.sh TARGET [refconv check options]" >&2
    exit 2
}

[ $# -ge 1 ] && [ -n "$1" ] || usage "no TARGET given (a .py file, a .ipynb notebook, a module or a folder)"
target="$1"
shift

if ! command -v refconv >/dev/null 2>&1; then
    spec="${REFCONV_SPEC:-}"
    [ -n "$spec" ] || usage "refconv is not installed and REFCONV_SPEC is not set: set it to a path, a wheel or a VCS URL of refconv (refconv is not on a package index)"
    if ! python -c "import torch" >/dev/null 2>&1; then
        # shellcheck disable=SC2086 - REFCONV_TORCH is a list of pip arguments
        python -m pip install --quiet ${REFCONV_TORCH:-torch --index-url https://download.pytorch.org/whl/cpu} \
            || usage "installing torch failed (REFCONV_TORCH=${REFCONV_TORCH:-default})"
    fi
    case "$spec" in
        git+* | hg+* | svn+* | bzr+*) requirement="refconv[check] @ $spec" ;;
        *) requirement="$spec[check]" ;;
    esac
    python -m pip install --quiet "$requirement" || usage "installing refconv from REFCONV_SPEC=$spec failed"
    command -v refconv >/dev/null 2>&1 || usage "refconv was installed from $spec but the refconv command is not on PATH"
fi

exec refconv check "$target" \
    --ties "${REFCONV_TIES:-torch}" \
    --max-examples "${REFCONV_EXAMPLES:-100}" \
    --json "${REFCONV_REPORT:-refconv-report.json}" \
    "$@"
