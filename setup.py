"""Build and install AnySupport: the server, the native kernels and the clients.

The Cython kernels in ``native/anysupport_native/*.pyx`` are compiled here. Every kernel has a
pure NumPy / Python reference beside it, used when ``ANYSUPPORT_NATIVE=reference`` is set, but a
normal install always builds the extensions, so a missing C compiler stops the build with a
message that says what to install instead of a traceback from deep inside the toolchain.
"""

import glob
import os
import shutil
import sys
import sysconfig

from setuptools import Extension, find_packages, setup


def _require_c_compiler():
    compiler = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        sys.stderr.write(
            "\nerror: AnySupport builds its native kernels with a C compiler, and none was found "
            f"(looked for {compiler!r}).\n"
            "  Debian/Ubuntu: apt-get install build-essential python3-dev\n"
            "  Fedora/RHEL:   dnf install gcc python3-devel\n"
            "  macOS:         xcode-select --install\n"
            "Then run the install again.\n\n"
        )
        raise SystemExit(1)


def native_extensions():
    if any(arg in sys.argv for arg in ("egg_info", "sdist", "--help", "clean")):
        return []
    _require_c_compiler()
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as exc:  # only when building without build isolation
        raise SystemExit(f"error: building AnySupport needs Cython and numpy first ({exc}).") from None
    extensions = []
    for path in sorted(glob.glob("native/anysupport_native/*.pyx")):
        name = os.path.splitext(os.path.basename(path))[0]
        extensions.append(
            Extension(
                f"anysupport_native.{name}",
                [path],
                include_dirs=[numpy.get_include(), "native/anysupport_native"],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=["-O3"],
            )
        )
    return cythonize(extensions, language_level=3, quiet=True)


def _version() -> str:
    """The one place the version is written: ``anysupport/__init__.py`` (the consoles compare it)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "anysupport", "__init__.py"),
              encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip('"').strip("'")
    raise SystemExit("error: anysupport/__init__.py names no __version__")


VERSION = _version()

SERVER = [
    "pymongo>=4.13",
    "nx-27017>=0.8",
    "openpyxl>=3.1",
    "prometheus-client>=0.20",  # /api/v1/metrics
    "fastjsonschema>=2.19",  # control messages: the JSON Schemas compiled to Python
    "packaging>=23",  # the console packages' versions (anysupport.console_packages)
    "uvloop>=0.19; sys_platform == 'linux'",  # the faster event loop (event_loop = "auto")
]
CLIENT = ["av>=14", "aiortc>=1.10", "PyQt5>=5.15", "soundcard>=0.4.3", "packaging>=23", "opencv-python-headless>=4.9",
          "qtawesome>=1.3"]  # the viewer's toolbar icons: Material Design Icons (Apache-2.0), drawn by qtawesome (MIT)
BENCH = ["pytest-benchmark>=5", "opencv-python-headless>=4.9", "psutil>=5.9", "py-spy>=0.3"]
TEST = (
    SERVER
    + CLIENT
    + BENCH
    + [
        "pytest>=8",
        "pytest-asyncio>=0.24",
        "pytest-timeout>=2.3",
        "pytest-xdist>=3.5",  # parallel runs: pytest -n 2
        "pytest-qt>=4.4",
        "hypothesis>=6.100",
        "schemathesis>=4.0",  # tests/fuzz: every REST operation from the OpenAPI document
        "playwright>=1.45",
        "selenium>=4.20",  # the customer page in WebKitGTK (Debian's WebKitWebDriver): tests/support/webkit.py
        "ruff>=0.6",
    ]
)

setup(
    name="anysupport",
    version=VERSION,
    description="Self-hostable mobile-video support: live camera sharing, drawing, chat and records",
    long_description=open("README.md", encoding="utf-8").read() if os.path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=(
        find_packages(include=["anysupport", "anysupport.*"])
        + find_packages("native", include=["anysupport_native", "anysupport_native.*"])
        + find_packages("clients", include=["anysupport_*"])
    ),
    package_dir={
        "anysupport_native": "native/anysupport_native",
        **{
            pkg: f"clients/{pkg}"
            for pkg in find_packages("clients", include=["anysupport_*"])
            if "." not in pkg
        },
    },
    package_data={
        "anysupport": ["templates/*.html", "templates/**/*.html", "static/*", "static/**/*", "i18n/*.json", "i18n/locale/*.csv"],
        "anysupport_native": ["*.pxd", "*.pyx"],
    },
    ext_modules=native_extensions(),
    # anysupport/ws/frames.py overrides private names of Tornado: the upper bound is the minor version tested
    install_requires=["tornado>=6.4,<6.7", "numpy>=1.26", "cryptography>=42", "pycryptodome>=3.20", "jsonschema>=4.20"],
    extras_require={"server": SERVER, "client": CLIENT, "bench": BENCH, "test": TEST},
    entry_points={
        "console_scripts": [
            "anysupport = anysupport.cli:main",
            "anysupport-mobile = anysupport_mobile.__main__:main",
            "anysupport-agent = anysupport_agent.__main__:main",
        ]
    },
    zip_safe=False,
)
