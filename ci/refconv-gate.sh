#!/usr/bin/env bash
# refconv gate: fail the CI job when an implementation of the seed API does not conform.
#
# Copy this file into your repository and call it from your CI:
#     bash ci/refconv-gate.sh path/to/solution.py        # or a .ipynb, a module, a folder
# Environment (all optional):
#     REFCONV_SPEC      what pip installs          (default: refconv[check])
#     REFCONV_TIES      torch | subgradient | all  (default: torch)
#     REFCONV_EXAMPLES  examples per function      (default: 100)
#     REFCONV_REPORT    JSON report path           (default: refconv-report.json)
# Exit status: that of `refconv check`: 0 conforms, 1 a function fails, 2 usage/load error.
set -euo pipefail

target="${1:?usage: refconv-gate.sh TARGET [extra refconv check options]}"
shift

if ! command -v refconv >/dev/null 2>&1; then
    # torch is the oracle; a CPU build is enough (install it first to avoid a CUDA download).
    python -m pip install --quiet "${REFCONV_SPEC:-refconv[check]}"
fi

exec refconv check "$target" \
    --ties "${REFCONV_TIES:-torch}" \
    --max-examples "${REFCONV_EXAMPLES:-100}" \
    --json "${REFCONV_REPORT:-refconv-report.json}" \
    "$@"
