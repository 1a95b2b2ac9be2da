"""One time zone for the console's times and days: the server's (#17.21)."""

from __future__ import annotations

import datetime as dt

import pytest
from anysupport_agent import zone
from anysupport_agent.models.sessions import short_time
from anysupport_agent.widgets.record_form import long_time


@pytest.fixture(autouse=True)
def pc_zone_after():
    yield
    zone.use(None)


def test_times_show_in_the_servers_zone_the_workbook_uses():
    instant = "2026-05-17T12:16:54.000+00:00"
    zone.use("Asia/Seoul")
    assert (short_time(instant), long_time(instant)) == ("05-17 21:16:54", "2026-05-17 21:16:54")
    assert zone.name() == "Asia/Seoul"
    zone.use("America/New_York")
    assert long_time(instant) == "2026-05-17 08:16:54"
    assert long_time(None) == "-" and short_time("") == "" and long_time("not a time") == "not a time"


def test_today_is_the_servers_day():
    zone.use("Pacific/Kiritimati")  # UTC+14: most hours of the day it is already tomorrow there
    assert zone.today() == dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=14))).date()
    zone.use("Etc/GMT+12")  # UTC-12
    assert zone.today() == dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=-12))).date()


def test_an_unknown_or_missing_zone_falls_back_to_the_pcs():
    for name in (None, "", "Mars/Olympus_Mons", "../etc"):
        zone.use(name)
        assert zone.today() == dt.date.today() or zone.today() == dt.datetime.now().astimezone().date()
        assert zone.name() == dt.datetime.now().astimezone().tzname()
