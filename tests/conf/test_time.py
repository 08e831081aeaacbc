"""Time: zone validation, formatting, the response transform and parsing."""

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from utilmeta.conf import Config, Time
from utilmeta.conf.time import Time as TimeFromModule
from utilmeta.core.server.service import get_service

PARIS = ZoneInfo("Europe/Paris")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_import_paths() -> None:
    assert TimeFromModule is Time
    assert issubclass(Time, Config)


def test_defaults() -> None:
    config = Time()
    assert config.time_zone is None and config.zone is None
    assert config.use_tz is True
    assert (config.date_format, config.time_format, config.datetime_format) == (
        "%Y-%m-%d",
        "%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    )
    assert "use_tz=True" in repr(config)


def test_seed_sample() -> None:
    config = Time(time_zone="UTC", use_tz=True, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    assert config.format_datetime(datetime(2024, 5, 1, 12, 30, tzinfo=PARIS)) == "2024-05-01T10:30:00Z"


def test_unknown_zone_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match=r"Time\(time_zone='Mars/Olympus'\): unknown time zone"):
        Time(time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown time zone"):
        Time(time_zone="../etc/passwd")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_zone": 8}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"use_tz": "yes"}, "use_tz"),
        ({"date_format": ""}, "date_format"),
        ({"datetime_format": None}, "datetime_format"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        Time(**kwargs)  # type: ignore[arg-type]


# -- formatting ---------------------------------------------------------------------------


def test_aware_datetime_is_converted_to_the_zone() -> None:
    config = Time(time_zone="Asia/Shanghai", datetime_format="%Y-%m-%d %H:%M:%S%z")
    assert config.format_datetime(datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)) == "2024-01-01 08:00:00+0800"


def test_naive_datetime_is_taken_to_be_in_the_zone() -> None:
    config = Time(time_zone="Europe/Paris", datetime_format="%H:%M %z")
    assert config.format_datetime(datetime(2024, 7, 1, 9, 0)) == "09:00 +0200"
    assert config.format_datetime(datetime(2024, 1, 1, 9, 0)) == "09:00 +0100"


def test_without_use_tz_datetimes_are_formatted_as_they_are() -> None:
    config = Time(time_zone="UTC", use_tz=False)
    assert config.format_datetime(datetime(2024, 1, 1, 9, 0, tzinfo=SHANGHAI)) == "2024-01-01 09:00:00"
    assert config.format_datetime(datetime(2024, 1, 1, 9, 0)) == "2024-01-01 09:00:00"


def test_local_zone_when_none_is_given() -> None:
    moment = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)
    expected = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert Time().format_datetime(moment) == expected
    assert Time().format_datetime(datetime(2024, 3, 10, 12, 0)) == "2024-03-10 12:00:00"


def test_date_and_time_formats() -> None:
    config = Time(date_format="%d/%m/%Y", time_format="%H.%M")
    assert config.format_date(date(2024, 2, 29)) == "29/02/2024"
    assert config.format_time(time(7, 5, 3)) == "07.05"


# -- transform ----------------------------------------------------------------------------


def test_transform_replaces_nested_dates() -> None:
    config = Time(time_zone="UTC")
    data = {
        "created": datetime(2024, 1, 1, 1, 0, tzinfo=PARIS),
        "items": [{"day": date(2024, 1, 2)}, (time(3, 4, 5), 1)],
        "name": "x",
        "count": 2,
        "none": None,
    }
    assert config.transform(data) == {
        "created": "2024-01-01 00:00:00",
        "items": [{"day": "2024-01-02"}, ("03:04:05", 1)],
        "name": "x",
        "count": 2,
        "none": None,
    }
    assert data["created"] == datetime(2024, 1, 1, 1, 0, tzinfo=PARIS)  # the input is not mutated


def test_transform_returns_unchanged_containers_as_they_are() -> None:
    config = Time()
    data = {"a": [1, "b", {"c": (2.5, True)}]}
    assert config.transform(data) is data
    assert config.transform("2024-01-01") == "2024-01-01"


def test_transform_keeps_keys_and_unknown_objects() -> None:
    marker = object()
    result = Time().transform({date(2024, 1, 1): marker, "d": date(2024, 1, 1)})
    assert result == {date(2024, 1, 1): marker, "d": "2024-01-01"}


# -- parsing ------------------------------------------------------------------------------


def test_parse_configured_format() -> None:
    config = Time(time_zone="Europe/Paris", datetime_format="%d.%m.%Y %H:%M")
    assert config.parse_datetime("01.07.2024 09:30") == datetime(2024, 7, 1, 9, 30, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)),
        ("2024-01-01T00:00:00z", datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)),
        ("2024-01-01T08:00:00.250000", datetime(2024, 1, 1, 8, 0, 0, 250000, tzinfo=SHANGHAI)),
        (" 2024-01-01 08:00:00 ", datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)),
    ],
)
def test_parse_iso_8601(text: str, expected: datetime) -> None:
    parsed = Time(time_zone="Asia/Shanghai").parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=8)


def test_parse_without_use_tz_gives_naive_times_in_the_zone() -> None:
    config = Time(time_zone="Asia/Shanghai", use_tz=False)
    assert config.parse_datetime("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, 8, 0)
    assert config.parse_datetime("2024-01-01 03:00:00") == datetime(2024, 1, 1, 3, 0)


def test_parse_round_trips_the_output() -> None:
    config = Time(time_zone="UTC", datetime_format="%Y-%m-%dT%H:%M:%SZ")
    moment = datetime(2024, 5, 1, 10, 30, tzinfo=ZoneInfo("UTC"))
    assert config.parse_datetime(config.format_datetime(moment)) == moment


def test_parse_error_names_the_formats() -> None:
    with pytest.raises(ValueError, match=r"invalid datetime 'soon': expected '%Y-%m-%d %H:%M:%S' or ISO 8601"):
        Time().parse_datetime("soon")


def test_parse_date_and_time() -> None:
    config = Time(date_format="%d/%m/%Y", time_format="%H.%M")
    assert config.parse_date("29/02/2024") == date(2024, 2, 29)
    assert config.parse_date("2024-02-29") == date(2024, 2, 29)
    assert config.parse_time("07.05") == time(7, 5)
    assert config.parse_time("07:05:03") == time(7, 5, 3)
    with pytest.raises(ValueError, match="invalid date"):
        config.parse_date("yesterday")
    with pytest.raises(ValueError, match="invalid time"):
        config.parse_time("noon")


# -- integration --------------------------------------------------------------------------


def test_django_settings() -> None:
    assert Time(time_zone="Asia/Shanghai", use_tz=False).django_settings() == {
        "TIME_ZONE": "Asia/Shanghai",
        "USE_TZ": False,
    }
    local = Time().django_settings()
    ZoneInfo(local["TIME_ZONE"])  # a real zone name, whatever the machine
    assert local["USE_TZ"] is True


def test_get_without_a_current_service() -> None:
    assert get_service() is None  # the suite's fresh_service fixture cleared it
    assert Time.get() is None


def test_get_returns_the_config_of_the_current_service(service: Any) -> None:
    assert Time.get() is None
    config = Time(time_zone="UTC")
    service.use(config)
    assert Time.get() is config
