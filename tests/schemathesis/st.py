"""schemathesis's `st`, with one workaround: Hypothesis describes a filtered strategy by
parsing its lambda's source with `ast.parse`, which CPython before 3.11.8 (Debian's 3.11.2
included) can fail with "SystemError: AST constructor recursion depth mismatch"
(python/cpython#106905). The description is only a label, so a failure to make one
becomes a plain label instead of an error of the run."""
import sys

import hypothesis.internal.lambda_sources as lambda_sources

_describe = lambda_sources._lambda_description


def _lambda_description(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description

from schemathesis.cli import schemathesis  # noqa: E402

sys.argv[0] = "st"
sys.exit(schemathesis())
