"""Service configuration: typed environment variables, time settings and framework preferences.

``service.use(...)`` takes any :class:`Config`; :class:`Env` is read on its own, usually in a
``config/env.py`` module, and its values are passed to the configs that need them.

Each name is imported when first asked for (``from utilmeta.conf import Env``): a service that
uses no ``Env`` never loads the file readers behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utilmeta.conf.base import Config
from utilmeta.utils.lazy import lazy_names

if TYPE_CHECKING:
    from utilmeta.conf.env import Env, EnvError, EnvWarning
    from utilmeta.conf.logging import Logging
    from utilmeta.conf.preference import Preference
    from utilmeta.conf.time import Time

__all__ = ["Config", "Env", "EnvError", "EnvWarning", "Logging", "Preference", "Time"]

_LAZY = {
    "Env": "utilmeta.conf.env",
    "EnvError": "utilmeta.conf.env",
    "EnvWarning": "utilmeta.conf.env",
    "Logging": "utilmeta.conf.logging",
    "Preference": "utilmeta.conf.preference",
    "Time": "utilmeta.conf.time",
}


__getattr__, __dir__ = lazy_names("utilmeta.conf", globals(), _LAZY)
