"""Date ranges (`textDate`), local midnights and analytics intervals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.core.errors import BadUserInput

# --- date ranges, textDate and intervals ---------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


_LAST_N_DAYS = re.compile(r"^last (\d{1,3}) days?$")
TEXT_DATES = (
    "this hour, last hour, today, yesterday, this week, last week, last N days, "
    "this month, last month, this year, last year"
)


def _month_start(day: date, delta_months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + delta_months
    return date(index // 12, index % 12 + 1, 1)


def text_date_range(
    text: str, tz: ZoneInfo, now: datetime, week_start: int = 0
) -> tuple[datetime, datetime]:
    """A natural-language range in `tz` as UTC [start, end).

    `last N days` is the N whole local days before today (today excluded);
    `this …` ranges run from the start of the current period up to now.
    """
    phrase = " ".join(text.strip().lower().split())
    local_now = now.astimezone(tz)
    today = local_now.date()
    if phrase in {"this hour", "last hour"}:
        start_local = local_now.replace(minute=0, second=0, microsecond=0)
        start = start_local.astimezone(UTC)
        if phrase == "this hour":
            return start, now
        return start - timedelta(hours=1), start
    if phrase == "today":
        return local_midnight(today, tz), now
    if phrase == "yesterday":
        return local_midnight(today - timedelta(days=1), tz), local_midnight(today, tz)
    if phrase in {"this week", "last week"}:
        begin = today - timedelta(days=(today.weekday() - week_start) % 7)
        if phrase == "this week":
            return local_midnight(begin, tz), now
        return local_midnight(begin - timedelta(days=7), tz), local_midnight(begin, tz)
    if phrase in {"this month", "last month"}:
        begin = _month_start(today)
        if phrase == "this month":
            return local_midnight(begin, tz), now
        return local_midnight(_month_start(today, -1), tz), local_midnight(begin, tz)
    if phrase in {"this year", "last year"}:
        begin = date(today.year, 1, 1)
        if phrase == "this year":
            return local_midnight(begin, tz), now
        return local_midnight(date(today.year - 1, 1, 1), tz), local_midnight(begin, tz)
    match = _LAST_N_DAYS.match(phrase)
    if match and 1 <= int(match.group(1)) <= 366:
        days = int(match.group(1))
        return local_midnight(today - timedelta(days=days), tz), local_midnight(today, tz)
    raise BadUserInput(f"unknown textDate {text!r} (one of: {TEXT_DATES})", field="textDate")


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Interval:
    """An ISO-8601 period (PT15M, PT1H, P1D, P1W, P1M, P1Y) bucketed in one timezone."""

    period: str
    tz: ZoneInfo
    week_start: int = 0

    def floor(self, moment: datetime) -> datetime:
        """Start (UTC) of the local bucket containing `moment`."""
        local = moment.astimezone(self.tz)
        if self.period == "PT15M":
            # Every UTC offset is a multiple of 15 minutes: a UTC quarter is a local one.
            utc = moment.astimezone(UTC)
            return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        if self.period == "PT1H":
            return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        day = local.date()
        if self.period == "P1W":
            day -= timedelta(days=(day.weekday() - self.week_start) % 7)
        elif self.period == "P1M":
            day = day.replace(day=1)
        elif self.period == "P1Y":
            day = day.replace(month=1, day=1)
        return local_midnight(day, self.tz)

    def next(self, start: datetime) -> datetime:
        """Start of the bucket after the one beginning at `start`."""
        if self.period == "PT15M":
            return self.floor(start + timedelta(minutes=15))
        if self.period == "PT1H":
            return self.floor(start + timedelta(hours=1))
        day = start.astimezone(self.tz).date()
        if self.period == "P1D":
            return local_midnight(day + timedelta(days=1), self.tz)
        if self.period == "P1W":
            return local_midnight(day + timedelta(days=7), self.tz)
        if self.period == "P1Y":
            return local_midnight(date(day.year + 1, 1, 1), self.tz)
        return local_midnight(_month_start(day, 1), self.tz)


INTERVALS = ("PT15M", "PT1H", "P1D", "P1W", "P1M", "P1Y")
_INTERVAL_ALIASES = {"PT60M": "PT1H", "P7D": "P1W", "PT24H": "P1D", "P12M": "P1Y"}


def parse_interval(value: str, tz: ZoneInfo, week_start: int = 0) -> Interval:
    period = value.strip().upper()
    period = _INTERVAL_ALIASES.get(period, period)
    if period not in INTERVALS:
        raise BadUserInput(
            f"unknown interval {value!r} (one of {', '.join(INTERVALS)})", field="interval"
        )
    return Interval(period, tz, week_start)
