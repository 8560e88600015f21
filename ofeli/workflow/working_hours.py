"""Working hours against the 48-working-hour target of the Carif (SPEC G2, guide: « L'équipe
OFeli validera votre saisie dans les 48 heures ouvrées »).

Rule: a working hour is a clock hour (Europe/Paris) that falls on a working day, and a
working day is Monday to Friday except French public holidays. So « 48 heures ouvrées »
are two whole working days: a request submitted on a Friday at 18:00 before Easter Monday
has 6 working hours on Friday, none on Saturday, Sunday and Monday, 24 on Tuesday, and
reaches 48 on Wednesday at 18:00. Days are cut at local midnight and durations are
measured in UTC, so a day of 23 or 25 hours (summer time changes) counts for what it lasts.

Public holidays (Code du travail, art. L3133-1, metropolitan France outside
Alsace-Moselle): 1 January, Easter Monday, 1 May, 8 May, Ascension Thursday, Whit Monday,
14 July, 15 August, 1 November, 11 November, 25 December. Easter is computed here
(anonymous Gregorian algorithm), no external calendar is needed.
"""

import datetime
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from django.utils import timezone

TARGET_HOURS = 48
WARNING_HOURS = 36  # « bientôt hors délai » from here
PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.UTC
ONE_DAY = datetime.timedelta(days=1)


def easter_sunday(year):
    """Easter Sunday of ``year`` (Gregorian calendar; Meeus / Jones / Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


@cache
def public_holidays(year):
    """French public holidays of ``year``: {date: name}."""
    easter = easter_sunday(year)
    return {
        datetime.date(year, 1, 1): "Jour de l'an",
        easter + datetime.timedelta(days=1): "Lundi de Pâques",
        datetime.date(year, 5, 1): "Fête du Travail",
        datetime.date(year, 5, 8): "Victoire 1945",
        easter + datetime.timedelta(days=39): "Ascension",
        easter + datetime.timedelta(days=50): "Lundi de Pentecôte",
        datetime.date(year, 7, 14): "Fête nationale",
        datetime.date(year, 8, 15): "Assomption",
        datetime.date(year, 11, 1): "Toussaint",
        datetime.date(year, 11, 11): "Armistice 1918",
        datetime.date(year, 12, 25): "Noël",
    }


def is_working_day(day):
    return day.weekday() < 5 and day not in public_holidays(day.year)


def _day_start(day):
    """Local midnight starting ``day``, as a UTC datetime (midnight never falls in a
    summer-time gap in Europe/Paris)."""
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=PARIS).astimezone(UTC)


def _aware(moment):
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, PARIS)
    return moment.astimezone(UTC)


def working_time_between(start, end):
    """Working time (a timedelta) elapsed from ``start`` to ``end``."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return datetime.timedelta(0)
    total = datetime.timedelta(0)
    day = start.astimezone(PARIS).date()
    last = end.astimezone(PARIS).date()
    while day <= last:
        if is_working_day(day):
            low = max(start, _day_start(day))
            high = min(end, _day_start(day + ONE_DAY))
            if high > low:
                total += high - low
        day += ONE_DAY
    return total


def working_hours_between(start, end):
    return working_time_between(start, end).total_seconds() / 3600


def add_working_hours(start, hours):
    """The moment at which ``hours`` working hours have elapsed since ``start`` (local time)."""
    remaining = datetime.timedelta(hours=hours)
    start = _aware(start)
    day = start.astimezone(PARIS).date()
    while True:
        if is_working_day(day):
            low = max(start, _day_start(day))
            high = _day_start(day + ONE_DAY)
            if high > low:
                if high - low >= remaining:
                    return (low + remaining).astimezone(PARIS)
                remaining -= high - low
        day += ONE_DAY


def subtract_working_hours(end, hours):
    """The latest moment from which ``hours`` working hours have elapsed at ``end``: a
    request submitted at or before it has reached the target (used to count late
    requests in one query)."""
    remaining = datetime.timedelta(hours=hours)
    end = _aware(end)
    day = end.astimezone(PARIS).date()
    while True:
        if is_working_day(day):
            low = _day_start(day)
            high = min(end, _day_start(day + ONE_DAY))
            if high > low:
                if high - low >= remaining:
                    return (high - remaining).astimezone(PARIS)
                remaining -= high - low
        day -= ONE_DAY


@dataclass(frozen=True)
class Age:
    """Age of a request against the target, for the queue and the review screen."""

    hours: float
    deadline: datetime.datetime
    target: int = TARGET_HOURS

    @property
    def is_late(self):
        return self.hours >= self.target

    @property
    def is_close(self):
        return not self.is_late and self.hours >= self.target * WARNING_HOURS / TARGET_HOURS

    @property
    def level(self):
        """DSFR badge suffix: success, warning or error."""
        return "error" if self.is_late else "warning" if self.is_close else "success"

    @property
    def status_label(self):
        if self.is_late:
            return "Hors délai"
        if self.is_close:
            return "Bientôt hors délai"
        return "Dans les délais"

    @property
    def label(self):
        """« 12 h ouvrées » / « 2 j 3 h ouvrées » (a working day counts 24 hours)."""
        whole = int(self.hours)
        days, rest = divmod(whole, 24)
        if days:
            return f"{days} j {rest} h ouvrées" if rest else f"{days} j ouvré{'s' if days > 1 else ''}"
        return f"{whole} h ouvrée{'s' if whole > 1 else ''}"


def age_of(submitted_at, now=None, target=TARGET_HOURS):
    if submitted_at is None:
        return None
    now = now or timezone.now()
    return Age(
        hours=working_hours_between(submitted_at, now),
        deadline=add_working_hours(submitted_at, target),
        target=target,
    )
