namespace LlmMiddleware.Governance.Budgets;

/// <summary>Where budget periods begin and end: at local midnight in the configured time zone, DST included.</summary>
internal sealed class BudgetPeriods(TimeZoneInfo zone, DayOfWeek weekStartsOn)
{
    private TimeZoneInfo Zone { get; } = zone;

    /// <summary>The period of kind <paramref name="period"/> that contains <paramref name="now"/>.</summary>
    public (DateTimeOffset Start, DateTimeOffset End) At(LlmBudgetPeriod period, DateTimeOffset now)
    {
        if (period == LlmBudgetPeriod.Total)
        {
            return (DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
        }

        var today = TimeZoneInfo.ConvertTime(now, Zone).Date;
        var (start, end) = period switch
        {
            LlmBudgetPeriod.Daily => (today, today.AddDays(1)),
            LlmBudgetPeriod.Weekly => (today.AddDays(-(((int)today.DayOfWeek - (int)weekStartsOn + 7) % 7)), today.AddDays(7 - (((int)today.DayOfWeek - (int)weekStartsOn + 7) % 7))),
            _ => (new DateTime(today.Year, today.Month, 1), new DateTime(today.Year, today.Month, 1).AddMonths(1)),
        };
        return (Instant(start), Instant(end));
    }

    /// <summary>The instant a local midnight falls at; a midnight skipped by a DST change is the first valid time after it.</summary>
    private DateTimeOffset Instant(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(30);
        }

        // An ambiguous midnight (clocks set back over it) is taken at its first occurrence.
        var offset = Zone.IsAmbiguousTime(local) ? Zone.GetAmbiguousTimeOffsets(local).Max() : Zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
