"""Django database errors as the HTTP errors they stand for, registered with
``utilmeta.utils.exceptions.TRANSLATIONS`` when the Django ORM integration is set up.

A database that cannot be reached (refused or dropped connection, unknown host, a server gone
away) is a 503 Service Unavailable with a fixed message: never the driver's text, which can
name hosts, users or SQL. Any other database error stays what it is (a 500, whose message only
debug mode shows).
"""

from __future__ import annotations

from types import TracebackType

from utilmeta.utils.exceptions import TRANSLATIONS, HttpError, ServiceUnavailable

__all__ = ["unavailable", "register"]

#: MySQL/MariaDB client errors: can't connect (2002, 2003), unknown host (2005), server gone
#: away (2006), lost connection (2013)
_MYSQL_GONE = {2002, 2003, 2005, 2006, 2013}
#: the functions a connection is opened in (Django's and the drivers')
_CONNECTING = {"connect", "get_new_connection", "ensure_connection"}


def _connecting(tb: TracebackType | None) -> bool:
    while tb is not None:
        if tb.tb_frame.f_code.co_name in _CONNECTING:
            return True
        tb = tb.tb_next
    return False


def unavailable(exc: BaseException) -> HttpError | None:
    """A 503 when ``exc`` says the database cannot be reached, else None."""
    from django.db import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    cause = exc.__cause__
    code = cause.args[0] if cause is not None and cause.args else None
    sqlstate = getattr(cause, "sqlstate", None) or ""
    if (
        isinstance(exc, InterfaceError)
        or _connecting(exc.__traceback__)
        or code in _MYSQL_GONE
        or sqlstate.startswith("08")  # SQL's "connection exception" class
    ):
        return ServiceUnavailable("the database is unavailable; try again later")
    return None


def register() -> None:
    """Add the translation (once)."""
    if unavailable not in TRANSLATIONS:
        TRANSLATIONS.append(unavailable)
