"""Time zone and date/time formats used by every API of a service."""

from __future__ import annotations

import os
from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING, Any

from utilmeta.conf._lookup import current_config
from utilmeta.conf.base import Config

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = ["Time"]

DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_TIME_FORMAT = "%H:%M:%S"
DEFAULT_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Time(Config):
    """How the service reads and writes dates and times.

    ::

        service.use(Time(time_zone='UTC', use_tz=True, datetime_format='%Y-%m-%dT%H:%M:%SZ'))

    - ``time_zone``: an IANA name (``'UTC'``, ``'Europe/Paris'``); None (default) is the local
      zone of the machine. Unknown names are rejected here, not at the first request.
    - ``use_tz``: datetimes are time-zone aware. Aware datetimes are converted to ``time_zone``
      before formatting; naive ones are taken to be in ``time_zone``. Also Django's ``USE_TZ``.
    - ``date_format`` / ``time_format`` / ``datetime_format``: ``strftime`` formats of output;
      parsing accepts them and ISO 8601.
    """

    def __init__(
        self,
        time_zone: str | None = None,
        use_tz: bool = True,
        date_format: str = DEFAULT_DATE_FORMAT,
        time_format: str = DEFAULT_TIME_FORMAT,
        datetime_format: str = DEFAULT_DATETIME_FORMAT,
    ) -> None:
        if not isinstance(use_tz, bool):
            raise TypeError(f"Time(use_tz=...) must be a bool, got {type(use_tz).__name__}")
        for option, fmt in (
            ("date_format", date_format),
            ("time_format", time_format),
            ("datetime_format", datetime_format),
        ):
            if not isinstance(fmt, str) or not fmt:
                raise TypeError(f"Time({option}=...) must be a non-empty strftime format, got {fmt!r}")
        self.time_zone = time_zone
        self.use_tz = use_tz
        self.date_format = date_format
        self.time_format = time_format
        self.datetime_format = datetime_format
        self._zone = _load_zone(time_zone)

    @classmethod
    def get(cls) -> Time | None:
        """The ``Time`` used by the current service, or None when none is configured."""
        return current_config(cls)

    @property
    def zone(self) -> tzinfo | None:
        """The configured zone; None stands for the machine's local zone."""
        return self._zone

    # -- output ---------------------------------------------------------------------------

    def format_datetime(self, dt: datetime) -> str:
        """Format ``dt`` with ``datetime_format``, in the configured zone when ``use_tz``."""
        if self.use_tz:
            dt = self._in_zone(dt) if _is_aware(dt) else self._attach(dt)
        return dt.strftime(self.datetime_format)

    def format_date(self, d: date) -> str:
        """Format ``d`` with ``date_format``."""
        return d.strftime(self.date_format)

    def format_time(self, t: time) -> str:
        """Format ``t`` with ``time_format``."""
        return t.strftime(self.time_format)

    def transform(self, obj: Any) -> Any:
        """Replace every datetime/date/time inside dicts, lists and tuples by its formatted string.

        Used by the response encoder on data already reduced to builtins. Containers without any
        date inside are returned as they are (not copied); dict keys are left alone.
        """
        if isinstance(obj, str | int | float) or obj is None:
            return obj
        if isinstance(obj, datetime):  # before date: datetime is a subclass of date
            return self.format_datetime(obj)
        if isinstance(obj, date):
            return self.format_date(obj)
        if isinstance(obj, time):
            return self.format_time(obj)
        if isinstance(obj, dict):
            changed: dict[Any, Any] | None = None
            for key, value in obj.items():
                new = self.transform(value)
                if new is not value:
                    if changed is None:
                        changed = dict(obj)
                    changed[key] = new
            return obj if changed is None else changed
        if isinstance(obj, list | tuple):
            items = [self.transform(item) for item in obj]
            if all(new is old for new, old in zip(items, obj, strict=True)):
                return obj
            return items if isinstance(obj, list) else tuple(items)
        return obj

    # -- input ----------------------------------------------------------------------------

    def parse_datetime(self, text: str) -> datetime:
        """Parse ``datetime_format`` or ISO 8601 (``Z`` included).

        With ``use_tz`` the result is aware, in the configured zone (a naive input is taken to be
        in it); without, it is naive, in the configured zone.
        """
        value = text.strip()
        try:
            dt = datetime.strptime(value, self.datetime_format)
        except ValueError:
            try:
                # Python 3.10's fromisoformat does not know the "Z" suffix
                dt = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
            except ValueError:
                raise ValueError(f"invalid datetime {text!r}: expected {self.datetime_format!r} or ISO 8601") from None
        aware = _is_aware(dt)
        if self.use_tz:
            return self._in_zone(dt) if aware else self._attach(dt)
        return self._in_zone(dt).replace(tzinfo=None) if aware else dt

    def parse_date(self, text: str) -> date:
        """Parse ``date_format`` or ISO 8601 (``YYYY-MM-DD``)."""
        value = text.strip()
        try:
            return datetime.strptime(value, self.date_format).date()
        except ValueError:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"invalid date {text!r}: expected {self.date_format!r} or ISO 8601") from None

    def parse_time(self, text: str) -> time:
        """Parse ``time_format`` or ISO 8601 (``HH:MM[:SS[.ffffff]]``)."""
        value = text.strip()
        try:
            return datetime.strptime(value, self.time_format).time()
        except ValueError:
            try:
                return time.fromisoformat(value)
            except ValueError:
                raise ValueError(f"invalid time {text!r}: expected {self.time_format!r} or ISO 8601") from None

    # -- integration ----------------------------------------------------------------------

    def django_settings(self) -> dict[str, Any]:
        """The Django settings this config stands for: ``TIME_ZONE`` and ``USE_TZ``."""
        # Django needs a zone name (ZoneInfo(None) fails), so "local" is resolved to one
        return {"TIME_ZONE": self.time_zone or _local_zone_name(), "USE_TZ": self.use_tz}

    def _in_zone(self, dt: datetime) -> datetime:
        return dt.astimezone(self._zone)  # astimezone(None) is the local zone

    def _attach(self, dt: datetime) -> datetime:
        if self._zone is None:
            return dt.astimezone()  # a naive datetime is read as local time
        return dt.replace(tzinfo=self._zone)


def _is_aware(dt: datetime) -> bool:
    return dt.tzinfo is not None and dt.utcoffset() is not None


def _load_zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise TypeError(f"Time(time_zone=...) must be a time zone name or None, got {name!r}")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only for a named zone

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Time(time_zone={name!r}): unknown time zone; use an IANA name such as 'UTC' or "
            "'Europe/Paris' (on systems without a zone database, pip install tzdata)"
        ) from None


def _local_zone_name() -> str:
    """Best-effort IANA name of the machine's zone: $TZ, /etc/timezone, /etc/localtime, else UTC."""
    from pathlib import Path
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return "UTC"
