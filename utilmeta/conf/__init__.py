"""Service configuration: typed environment variables, time settings and framework preferences.

``service.use(...)`` takes any :class:`Config`; :class:`Env` is read on its own, usually in a
``config/env.py`` module, and its values are passed to the configs that need them.
"""

from utilmeta.conf.base import Config
from utilmeta.conf.env import Env, EnvError
from utilmeta.conf.logging import Logging
from utilmeta.conf.preference import Preference
from utilmeta.conf.time import Time

__all__ = ["Config", "Env", "EnvError", "Logging", "Preference", "Time"]
