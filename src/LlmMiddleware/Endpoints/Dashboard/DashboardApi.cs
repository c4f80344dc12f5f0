using LlmMiddleware.Endpoints.Admin;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Endpoints.Dashboard;

/// <summary>The dashboard's JSON beyond spend and traffic: experiments and their reports, and governance.</summary>
internal static class DashboardApi
{
    /// <summary>Each experiment, whether it runs, and its report; none without <c>AddExperiments()</c>.</summary>
    public static async Task<IResult> ExperimentsAsync(HttpContext http)
    {
        var shown = new List<object>();
        if (http.RequestServices.GetService<LlmExperiments>() is { } experiments)
        {
            foreach (var name in experiments.Names)
            {
                shown.Add(new { name, running = experiments.IsRunning(name), report = await experiments.ReportAsync(name, http.RequestAborted).ConfigureAwait(false) });
            }
        }

        return AdminJson.Ok(shown);
    }

    /// <summary>The virtual keys (never their secrets) and where every budget stands; <see langword="null"/> for what
    /// the gateway does not use.</summary>
    public static async Task<IResult> GovernanceAsync(HttpContext http)
    {
        var keys = http.RequestServices.GetService<LlmVirtualKeys>()?.List();
        var budgets = http.RequestServices.GetService<LlmBudgets>() is { } b ? await b.StatusesAsync(http.RequestAborted).ConfigureAwait(false) : null;
        return AdminJson.Ok(new { keys, budgets });
    }
}
