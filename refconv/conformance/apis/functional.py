"""placeholder"""

from refconv.conformance.apis import Api

FUNCTIONAL = Api(
    name="functional",
    title="",
    functions=("conv2d",),
    checks={},
    problems=None,
    corpus=None,
    explain=None,
    repro=None,
)
