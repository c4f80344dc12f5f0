using System.Diagnostics.Metrics;
using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>Says what budgets do: a log line and a metric for each soft limit crossed and each call refused, and the
/// <see cref="LlmBudgetHook"/>s told of soft limits off the request path.</summary>
internal sealed partial class BudgetAlerts
{
    private readonly LlmBudgetHook[] _hooks;
    private readonly ILogger<BudgetAlerts> _logger;
    private readonly Counter<long> _alerts;
    private readonly Counter<long> _refusals;

    public BudgetAlerts(IEnumerable<LlmBudgetHook> hooks, IMeterFactory meters, ILogger<BudgetAlerts> logger)
    {
        _hooks = [.. hooks];
        _logger = logger;
        var meter = meters.Create(LlmGatewayTelemetry.Name);
        _alerts = meter.CreateCounter<long>("llm_gateway.budget.alerts", "{alert}", "Budget soft limits crossed (threshold 1: the budget used up), by llm_gateway.budget.scope, period and threshold.");
        _refusals = meter.CreateCounter<long>("llm_gateway.budget.refusals", "{request}", "Calls refused because a budget could not hold their worst-case cost, by llm_gateway.budget.scope and period.");
    }

    public void Raise(LlmBudgetAlert alert)
    {
        var status = alert.Status;
        Log.SoftLimit(_logger, status.Budget.Scope, status.Subject, status.Budget.Period, alert.Threshold, status.Spent, status.Budget.Limit);
        _alerts.Add(1, new("llm_gateway.budget.scope", Name(status.Budget.Scope)), new("llm_gateway.budget.period", Name(status.Budget.Period)), new("llm_gateway.budget.threshold", alert.Threshold));
        if (_hooks.Length > 0)
        {
            _ = Task.Run(() => NotifyAsync(alert));
        }
    }

    public void Refused(LlmBudgetStatus status)
    {
        Log.Refused(_logger, status.Budget.Scope, status.Subject, status.Budget.Period, status.Spent, status.Reserved, status.Budget.Limit);
        _refusals.Add(1, new("llm_gateway.budget.scope", Name(status.Budget.Scope)), new("llm_gateway.budget.period", Name(status.Budget.Period)));
    }

    public void SettlementFailed(Exception exception) => Log.SettlementFailed(_logger, exception);

    /// <summary>The highest soft limit (or 1, the limit itself) a charge from <paramref name="before"/> to
    /// <paramref name="after"/> crossed, if any. Counted increments cross each threshold once, wherever they run.</summary>
    public static double? Crossed(LlmBudget budget, decimal before, decimal after)
    {
        if (after <= before || budget.Limit <= 0)
        {
            return null;
        }

        if (before < budget.Limit && budget.Limit <= after)
        {
            return 1d; // the budget itself, above every soft limit
        }

        double? crossed = null;
        foreach (var threshold in budget.SoftLimits ?? DefaultSoftLimits)
        {
            var at = budget.Limit * (decimal)threshold;
            if (before < at && at <= after && threshold > (crossed ?? 0))
            {
                crossed = threshold;
            }
        }

        return crossed;
    }

    private static readonly double[] DefaultSoftLimits = [0.8];

    private async Task NotifyAsync(LlmBudgetAlert alert)
    {
        foreach (var hook in _hooks)
        {
            try
            {
                await hook.OnSoftLimitAsync(alert, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.HookFailed(_logger, hook.GetType().Name, ex);
            }
        }
    }

    private static string Name(LlmBudgetScope scope) => scope switch
    {
        LlmBudgetScope.Key => "key",
        LlmBudgetScope.Team => "team",
        LlmBudgetScope.User => "user",
        LlmBudgetScope.App => "app",
        _ => "tag",
    };

    private static string Name(LlmBudgetPeriod period) => period switch
    {
        LlmBudgetPeriod.Daily => "daily",
        LlmBudgetPeriod.Weekly => "weekly",
        LlmBudgetPeriod.Monthly => "monthly",
        _ => "total",
    };

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Warning, "Budget {Scope} '{Subject}' ({Period}) crossed {Threshold:P0} of its limit: {Spent} of {Limit} USD spent.", EventName = "BudgetSoftLimit")]
        public static partial void SoftLimit(ILogger logger, LlmBudgetScope scope, string subject, LlmBudgetPeriod period, double threshold, decimal spent, decimal limit);

        [LoggerMessage(31, LogLevel.Information, "A call was refused: budget {Scope} '{Subject}' ({Period}) has {Spent} USD spent and {Reserved} USD held of its {Limit} USD.", EventName = "BudgetExceeded")]
        public static partial void Refused(ILogger logger, LlmBudgetScope scope, string subject, LlmBudgetPeriod period, decimal spent, decimal reserved, decimal limit);

        [LoggerMessage(35, LogLevel.Error, "A call's cost could not be settled on its budgets; its hold lapses with the reservation.", EventName = "BudgetSettlementFailed")]
        public static partial void SettlementFailed(ILogger logger, Exception exception);

        [LoggerMessage(32, LogLevel.Error, "Budget hook {Hook} failed.", EventName = "BudgetHookFailed")]
        public static partial void HookFailed(ILogger logger, string hook, Exception exception);
    }
}
