"""The payroll arithmetic: real recorded minutes per coach and ISO week, aggregated in SQL."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.db.models.functions import TruncWeek

from sessions.models import TrainingSession
from zea.accounts.models import Coach

COLUMNS = ["coach_id", "coach_name", "iso_week", "week_start", "sessions", "minutes", "hours", "hourly_rate", "amount"]
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class WeekRow:
    coach_id: str
    coach_name: str
    week_start: date
    sessions: int
    minutes: int
    hourly_rate: Decimal

    @property
    def iso_week(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def hours(self) -> Decimal:
        return money(Decimal(self.minutes) / 60)

    @property
    def amount(self) -> Decimal:
        return money(Decimal(self.minutes) * self.hourly_rate / 60)


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The month as [start, end) instants in `tz` (DST-safe: local midnights)."""
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime(following.year, following.month, 1, tzinfo=tz)


def weekly_minutes(month: date, tz: ZoneInfo):
    """The one aggregate query: sessions and minutes per coach and local ISO week (Monday)."""
    start, end = month_bounds(month, tz)
    return (
        TrainingSession.objects.filter(actual_start__gte=start, actual_start__lt=end, payable_minutes__isnull=False)
        .exclude(state=TrainingSession.State.CANCELLED)
        .annotate(week=TruncWeek("actual_start", tzinfo=tz))
        .values("coach_id", "week")
        .annotate(sessions=Count("pk"), minutes=Sum("payable_minutes"))
        .order_by()
    )


def week_rows(month: date, tz_name: str) -> list[WeekRow]:
    """One row per coach per ISO week, from sessions whose recorded start falls in the month."""
    tz = ZoneInfo(tz_name)
    grouped = list(weekly_minutes(month, tz))
    coaches = {
        coach.pk: coach
        for coach in Coach.objects.filter(pk__in={row["coach_id"] for row in grouped}).select_related("user")
    }
    rows = [
        WeekRow(
            coach_id=str(row["coach_id"]),
            coach_name=coaches[row["coach_id"]].name,
            week_start=row["week"].astimezone(tz).date(),
            sessions=row["sessions"],
            minutes=row["minutes"],
            hourly_rate=coaches[row["coach_id"]].hourly_rate,
        )
        for row in grouped
    ]
    return sorted(rows, key=lambda r: (r.coach_name, r.coach_id, r.week_start))


def totals(rows: list[WeekRow]) -> list[dict]:
    """Per coach; the amount is the sum of the weekly (rounded) amounts, as paid."""
    by_coach: dict[str, dict] = {}
    for row in rows:
        total = by_coach.setdefault(
            row.coach_id,
            {"coach_id": row.coach_id, "coach_name": row.coach_name, "sessions": 0, "minutes": 0, "amount": Decimal(0)},
        )
        total["sessions"] += row.sessions
        total["minutes"] += row.minutes
        total["amount"] += row.amount
    return [
        {**t, "hours": str(money(Decimal(t["minutes"]) / 60)), "amount": str(money(t["amount"]))}
        for t in by_coach.values()
    ]


def _cell(text: str) -> str:
    """Keep a name from being read as a formula by a spreadsheet (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: list[WeekRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.coach_id,
                _cell(row.coach_name),
                row.iso_week,
                row.week_start.isoformat(),
                row.sessions,
                row.minutes,
                row.hours,
                row.hourly_rate,
                row.amount,
            ]
        )
    return buffer.getvalue()
