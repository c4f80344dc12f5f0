using LlmMiddleware.Governance.Budgets;
using Xunit;

namespace LlmMiddleware.Tests.Governance;

/// <summary>Budget periods begin at local midnight in the configured zone, across DST changes, weeks and months.</summary>
public sealed class BudgetPeriodsTests
{
    [Fact]
    public void AWeekStartsOnTheConfiguredDay()
    {
        var periods = new BudgetPeriods(TimeZoneInfo.Utc, DayOfWeek.Monday);

        var (start, end) = periods.At(LlmBudgetPeriod.Weekly, new DateTimeOffset(2026, 3, 11, 12, 0, 0, TimeSpan.Zero)); // a Wednesday
        var (sundayStart, _) = new BudgetPeriods(TimeZoneInfo.Utc, DayOfWeek.Sunday).At(LlmBudgetPeriod.Weekly, new DateTimeOffset(2026, 3, 8, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal((new DateTimeOffset(2026, 3, 9, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 16, 0, 0, 0, TimeSpan.Zero)), (start, end));
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 0, 0, 0, TimeSpan.Zero), sundayStart);
    }

    [Fact]
    public void AMonthStartsAtLocalMidnightOnTheFirst()
    {
        var periods = new BudgetPeriods(TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"), DayOfWeek.Monday);

        // 23:30 UTC on 31 March is 01:30 on 1 April in Paris (CEST, +2).
        var (start, end) = periods.At(LlmBudgetPeriod.Monthly, new DateTimeOffset(2026, 3, 31, 23, 30, 0, TimeSpan.Zero));

        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.FromHours(2)), start);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.FromHours(2)), end);
    }

    [Fact]
    public void ADaySkippedAtMidnightByDstStartsAtItsFirstValidTimeAndATotalNeverEnds()
    {
        // Chile moves its clocks from 24:00 to 01:00 on the first Sunday of September: 6 September 2026 has no midnight.
        var periods = new BudgetPeriods(TimeZoneInfo.FindSystemTimeZoneById("America/Santiago"), DayOfWeek.Monday);

        var (start, end) = periods.At(LlmBudgetPeriod.Daily, new DateTimeOffset(2026, 9, 6, 15, 0, 0, TimeSpan.Zero));
        var (totalStart, totalEnd) = periods.At(LlmBudgetPeriod.Total, DateTimeOffset.UtcNow);

        Assert.Equal(new DateTimeOffset(2026, 9, 6, 1, 0, 0, TimeSpan.FromHours(-3)), start);
        Assert.Equal(new DateTimeOffset(2026, 9, 7, 0, 0, 0, TimeSpan.FromHours(-3)), end);
        Assert.Equal(TimeSpan.FromHours(23), end - start);
        Assert.Equal((DateTimeOffset.MinValue, DateTimeOffset.MaxValue), (totalStart, totalEnd));
    }
}
