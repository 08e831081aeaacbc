"""Optional dependencies: import them late, and say which extra to install when one is missing."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Mapping
from types import ModuleType

__all__ = ["require", "AUTO_INSTALL_VARIABLE"]

#: Set this environment variable to ``1`` to let :func:`require` ``pip install`` a missing package.
AUTO_INSTALL_VARIABLE = "UTILMETA_AUTO_INSTALL"


def require(
    module: str,
    extra: str,
    *,
    production: bool = False,
    auto_install_disabled: bool = False,
    package: str | None = None,
) -> ModuleType:
    """Import and return ``module``; if it is not installed, raise an actionable ``ImportError``.

    The message names the extra that provides it::

        "flask" is not installed: pip install 'utilmeta[flask]'

    Automatic installation is opt-in: it is attempted only when the environment variable
    ``UTILMETA_AUTO_INSTALL`` is ``1``, ``production`` is false and ``auto_install_disabled``
    (``Preference.dependencies_auto_install_disabled``) is false. It runs
    ``python -m pip install <package>`` with the running interpreter and prints what it installs.
    Opt-in because installing packages at run time surprised users of the original framework,
    and must never happen in CI, in tests or on a production host.

    ``package`` is the distribution to install (default: the top-level module name), e.g.
    ``require('yaml', 'yaml', package='PyYAML')``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if not _is_missing(module, exc):
            raise  # the module exists but one of its own imports is broken: show that error
        missing = exc
    message = f"\"{module}\" is not installed: pip install 'utilmeta[{extra}]'"
    if not _auto_install_allowed(production=production, disabled=auto_install_disabled):
        raise ImportError(message, name=module) from missing
    target = package or module.partition(".")[0]
    if not _pip_install(target):
        raise ImportError(f"{message} (automatic install of {target!r} failed)", name=module) from missing
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise ImportError(f"{message} (installed {target!r}, still cannot import it)", name=module) from None


def _is_missing(module: str, exc: ModuleNotFoundError) -> bool:
    """Whether ``exc`` says ``module`` itself (or one of its parent packages) is absent."""
    name = exc.name or ""
    return bool(name) and (module == name or module.startswith(name + "."))


def _auto_install_allowed(*, production: bool, disabled: bool, environ: Mapping[str, str] | None = None) -> bool:
    if production or disabled:
        return False
    env = os.environ if environ is None else environ
    return env.get(AUTO_INSTALL_VARIABLE, "").strip() == "1"


def _pip_install(package: str) -> bool:
    print(f"utilmeta: installing missing dependency {package!r} ({AUTO_INSTALL_VARIABLE}=1)", file=sys.stderr)
    result = subprocess.run([sys.executable, "-m", "pip", "install", package], check=False)
    return result.returncode == 0
