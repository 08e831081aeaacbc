"""The django backend and Django settings.

``DjangoServerAdaptor`` serves a service on Django (``backend=django``); ``DjangoSettings``
configures Django for it, or for the Django ORM under any other backend.
"""

from utilmeta.core.server.backends.django.adaptor import DjangoServerAdaptor
from utilmeta.core.server.backends.django.settings import DjangoSettings

__all__ = ["DjangoServerAdaptor", "DjangoSettings"]
