using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmMiddleware.Endpoints.Admin;

/// <summary>
/// <c>/budgets</c> and <c>/limits</c>: list, set (<c>PUT</c> a budget or limit: added, or replacing the one of its
/// slot), remove (<c>DELETE /budgets/{scope}/{subject}/{period}</c>, <c>DELETE /limits/{scope}/{subject}</c>), and
/// where a subject stands (<c>GET /budgets/status?scope=&amp;subject=</c>; every account without them).
/// </summary>
internal static class AdminLimits
{
    private const string BudgetsBy = "AddBudgets()";
    private const string LimitsBy = "AddRateLimits()";

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/budgets", (HttpContext http) => AdminJson.Service<LlmBudgets>(http, BudgetsBy, out var missing) is { } budgets ? AdminJson.Ok(budgets.List()) : missing!);
        admin.MapPut("/budgets", (Func<HttpContext, Task<IResult>>)(http => SetAsync<LlmBudget, LlmBudgets>(http, BudgetsBy, static (budgets, budget, token) => budgets.SetAsync(budget, token))));
        admin.MapDelete("/budgets/{scope}/{subject}/{period}", async (HttpContext http, string scope, string subject, string period) =>
            AdminJson.Service<LlmBudgets>(http, BudgetsBy, out var missing) is not { } budgets ? missing!
                : !AdminJson.TryParse<LlmBudgetScope>(scope, out var s) || !AdminJson.TryParse<LlmBudgetPeriod>(period, out var p) ? AdminJson.Error(400, "Unknown budget scope or period.")
                : await budgets.RemoveAsync(s, subject, p, http.RequestAborted).ConfigureAwait(false) ? Results.NoContent() : AdminJson.Error(404, $"No {period} budget of {scope} '{subject}'."));
        admin.MapGet("/budgets/status", async (HttpContext http, string? scope, string? subject) =>
            AdminJson.Service<LlmBudgets>(http, BudgetsBy, out var missing) is not { } budgets ? missing!
                : scope is null && subject is null ? AdminJson.Ok(await budgets.StatusesAsync(http.RequestAborted).ConfigureAwait(false))
                : AdminJson.TryParse<LlmBudgetScope>(scope, out var s) && subject is { Length: > 0 } ? AdminJson.Ok(await budgets.StatusAsync(s, subject, http.RequestAborted).ConfigureAwait(false))
                : AdminJson.Error(400, "Give a known scope and a subject, or neither."));
        admin.MapGet("/limits", (HttpContext http) => AdminJson.Service<LlmRateLimits>(http, LimitsBy, out var missing) is { } limits ? AdminJson.Ok(limits.List()) : missing!);
        admin.MapPut("/limits", (Func<HttpContext, Task<IResult>>)(http => SetAsync<LlmRateLimit, LlmRateLimits>(http, LimitsBy, static (limits, limit, token) => limits.SetAsync(limit, token))));
        admin.MapDelete("/limits/{scope}/{subject}", async (HttpContext http, string scope, string subject) =>
            AdminJson.Service<LlmRateLimits>(http, LimitsBy, out var missing) is not { } limits ? missing!
                : !AdminJson.TryParse<LlmRateLimitScope>(scope, out var s) ? AdminJson.Error(400, "Unknown rate limit scope.")
                : await limits.RemoveAsync(s, subject, http.RequestAborted).ConfigureAwait(false) ? Results.NoContent() : AdminJson.Error(404, $"No limit of {scope} '{subject}'."));
    }

    private static async Task<IResult> SetAsync<T, TService>(HttpContext http, string enabledBy, Func<TService, T, CancellationToken, ValueTask> set)
        where T : class
        where TService : class
    {
        if (AdminJson.Service<TService>(http, enabledBy, out var missing) is not { } service)
        {
            return missing!;
        }

        var (value, invalid) = await AdminJson.ReadAsync<T>(http.Request).ConfigureAwait(false);
        if (value is null)
        {
            return invalid!;
        }

        try
        {
            await set(service, value, http.RequestAborted).ConfigureAwait(false);
            return AdminJson.Ok(value);
        }
        catch (Exception ex) when (ex is ValidationException or ArgumentException)
        {
            return AdminJson.Error(400, ex.Message);
        }
    }
}
