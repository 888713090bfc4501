"""dlgrade: grade TensorFlow / Keras notebook exercises safely, with calibrated checks.

This package is also imported inside the sandbox (the course's data loaders, the kernel-side
export helpers), so importing it must stay cheap: submodules are loaded only when used.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`from grader import check` loads the self-check only when asked for (PEP 562)."""
    if name == "check":
        from grader.cli.selfcheck import check

        return check
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
