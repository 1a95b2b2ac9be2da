"""AnySupport's native (Cython) kernels and their pure NumPy / Python references.

Each public module here (``framing``, ``composite``, ``scale``, ``rotate`` …) exposes one API with
two implementations: the compiled Cython kernel and a reference written with NumPy or plain Python.
The reference is the test oracle and the fallback when an extension is not built. Setting the
environment variable ``ANYSUPPORT_NATIVE=reference`` forces the reference everywhere (CI runs the
kernel tests both ways).
"""

import importlib
import os

BACKEND_ENV = "ANYSUPPORT_NATIVE"


def reference_forced() -> bool:
    """True when ``ANYSUPPORT_NATIVE=reference`` asks for the pure references."""
    return os.environ.get(BACKEND_ENV, "").strip().lower() in ("reference", "python", "numpy")


def load_extension(name: str):
    """Import the compiled extension ``anysupport_native.<name>``, or None when it is not built
    or the reference is forced."""
    if reference_forced():
        return None
    try:
        return importlib.import_module(f"anysupport_native.{name}")
    except ImportError:
        return None
