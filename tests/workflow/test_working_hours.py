"""G2: the age of a request against the 48-working-hour target (weekends and French public
holidays excluded)."""

import datetime

import pytest

from ofeli.workflow.working_hours import (
    PARIS,
    add_working_hours,
    age_of,
    easter_sunday,
    is_working_day,
    public_holidays,
    subtract_working_hours,
    working_hours_between,
)


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    "year, expected",
    [
        (2024, datetime.date(2024, 3, 31)),
        (2025, datetime.date(2025, 4, 20)),
        (2026, datetime.date(2026, 4, 5)),
        (2027, datetime.date(2027, 3, 28)),
        (2285, datetime.date(2285, 3, 22)),  # earliest possible date
        (2038, datetime.date(2038, 4, 25)),  # latest possible date
    ],
)
def test_g2_easter_sunday_is_computed(year, expected):
    assert easter_sunday(year) == expected


def test_g2_french_public_holidays_of_2026():
    holidays = public_holidays(2026)
    assert len(holidays) == 11
    assert holidays[datetime.date(2026, 4, 6)] == "Lundi de Pâques"
    assert holidays[datetime.date(2026, 5, 14)] == "Ascension"
    assert holidays[datetime.date(2026, 5, 25)] == "Lundi de Pentecôte"
    for fixed in [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]:
        assert datetime.date(2026, *fixed) in holidays
    assert datetime.date(2026, 4, 3) not in holidays  # Good Friday: Alsace-Moselle only


def test_g2_working_days():
    assert is_working_day(datetime.date(2026, 4, 7))  # Tuesday
    assert not is_working_day(datetime.date(2026, 4, 4))  # Saturday
    assert not is_working_day(datetime.date(2026, 4, 5))  # Sunday
    assert not is_working_day(datetime.date(2026, 4, 6))  # Easter Monday


def test_g2_friday_evening_before_a_public_holiday():
    """Submitted on Friday 3 April 2026 at 18:00, before Easter Monday: 6 working hours on
    Friday, none on Saturday, Sunday and Monday, 24 on Tuesday; 48 reached on Wednesday
    at 18:00."""
    submitted = paris(2026, 4, 3, 18, 0)
    assert working_hours_between(submitted, paris(2026, 4, 6, 23, 0)) == 6
    assert working_hours_between(submitted, paris(2026, 4, 7, 9, 0)) == 15
    assert working_hours_between(submitted, paris(2026, 4, 8, 17, 59)) < 48
    assert add_working_hours(submitted, 48) == paris(2026, 4, 8, 18, 0)
    age = age_of(submitted, now=paris(2026, 4, 8, 18, 30))
    assert age.is_late and age.hours == 48.5
    assert age.deadline == paris(2026, 4, 8, 18, 0)


def test_g2_friday_evening_before_the_8_may_bridge():
    """Thursday 7 May 2026 18:00: Friday 8 May (Victoire 1945) and the weekend do not count."""
    submitted = paris(2026, 5, 7, 18, 0)
    assert add_working_hours(submitted, 48) == paris(2026, 5, 12, 18, 0)
    # Ascension week: Wednesday 13 May 18:00 → Thursday 14 is a holiday.
    assert add_working_hours(paris(2026, 5, 13, 18, 0), 48) == paris(2026, 5, 18, 18, 0)


def test_g2_submitted_during_a_weekend_starts_on_monday():
    submitted = paris(2026, 3, 14, 10, 0)  # Saturday
    assert working_hours_between(submitted, paris(2026, 3, 16, 0, 0)) == 0
    assert add_working_hours(submitted, 48) == paris(2026, 3, 18, 0, 0)


def test_g2_summer_time_changes_are_measured_in_real_hours():
    """Clocks change on a Sunday (25 hours on 25 October 2026, 23 on 29 March 2026), which
    does not count; the working days around it count 24 real hours each."""
    assert add_working_hours(paris(2026, 10, 23, 12, 0), 48) == paris(2026, 10, 27, 12, 0)
    assert working_hours_between(paris(2026, 10, 23, 12, 0), paris(2026, 10, 27, 12, 0)) == 48
    assert working_hours_between(paris(2026, 3, 27, 0, 0), paris(2026, 3, 31, 0, 0)) == 48
    assert working_hours_between(paris(2026, 3, 27, 12, 0), paris(2026, 3, 30, 12, 0)) == 24


def test_g2_subtract_is_the_inverse_of_add():
    now = paris(2026, 4, 8, 18, 0)
    assert subtract_working_hours(now, 48) == paris(2026, 4, 3, 18, 0)
    for start in [paris(2026, 12, 24, 15, 30), paris(2026, 7, 13, 9, 0), paris(2027, 1, 1, 8, 0)]:
        end = add_working_hours(start, 48)
        assert working_hours_between(start, end) == 48
        assert working_hours_between(subtract_working_hours(end, 48), end) == 48


def test_g2_age_labels_and_levels():
    submitted = paris(2026, 4, 7, 9, 0)  # Tuesday
    fresh = age_of(submitted, now=paris(2026, 4, 7, 12, 0))
    assert (fresh.label, fresh.level, fresh.status_label) == ("3 h ouvrées", "success", "Dans les délais")
    close = age_of(submitted, now=paris(2026, 4, 8, 22, 0))
    assert close.level == "warning" and close.status_label == "Bientôt hors délai"
    late = age_of(submitted, now=paris(2026, 4, 10, 10, 0))
    assert late.label == "3 j 1 h ouvrées" and late.is_late
    assert age_of(None) is None
