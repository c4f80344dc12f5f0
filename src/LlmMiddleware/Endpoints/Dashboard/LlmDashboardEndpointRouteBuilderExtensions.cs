using LlmMiddleware;
using LlmMiddleware.Endpoints;
using LlmMiddleware.Endpoints.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the LLM gateway's dashboard.</summary>
public static class LlmDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves the dashboard under <paramref name="prefix"/> — a page embedded in the library (nothing fetched from
    /// elsewhere) showing spend over time and by model, key, team, app or user; latency and time to first token, cache
    /// hits and savings, retries, fallbacks and races per deployment; deployment health; the experiments' reports; and
    /// keys and budgets — and the JSON it reads (<c>api/spend</c>, <c>api/traffic</c>, <c>api/deployments</c>,
    /// <c>api/experiments</c>, <c>api/governance</c>), all behind the host's authorization policy
    /// <paramref name="authorizationPolicy"/> (required: the dashboard shows who spends what). Spend and traffic are
    /// every instance's with the PostgreSQL ledger, otherwise this instance's; health is this instance's.
    /// </summary>
    public static RouteGroupBuilder MapLlmDashboard(this IEndpointRouteBuilder endpoints, string prefix, string authorizationPolicy)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        LlmAdminEndpointRouteBuilderExtensions.RequirePolicy(endpoints, authorizationPolicy, "The dashboard shows who spends what: name the authorization policy that guards it.", "the dashboard");
        var services = endpoints.ServiceProvider;
        var spend = services.GetService<ILlmSpendReport>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call services.AddLlmGateway() before app.MapLlmDashboard().");
        var (traffic, router, time) = (services.GetRequiredService<ILlmTrafficReport>(), services.GetRequiredService<LlmMiddleware.Routing.LlmRouter>(), services.GetRequiredService<TimeProvider>());
        var dashboard = endpoints.MapGroup(prefix);
        dashboard.RequireAuthorization(authorizationPolicy);
        dashboard.MapGet("/", (HttpContext http) => DashboardAssets.Page(http.Request.PathBase + prefix.TrimEnd('/') + "/"));
        dashboard.MapGet("/dashboard.js", () => DashboardAssets.Serve("dashboard.js"));
        dashboard.MapGet("/dashboard.css", () => DashboardAssets.Serve("dashboard.css"));
        dashboard.MapGet("/api/spend", http => SpendEndpoint.HandleAsync(http, spend));
        dashboard.MapGet("/api/traffic", (Func<HttpContext, Task<IResult>>)(http => TrafficEndpoint.HandleAsync(http, traffic)));
        dashboard.MapGet("/api/deployments", http => DeploymentHealthEndpoint.HandleAsync(http, router, time));
        dashboard.MapGet("/api/experiments", (Func<HttpContext, Task<IResult>>)DashboardApi.ExperimentsAsync);
        dashboard.MapGet("/api/governance", (Func<HttpContext, Task<IResult>>)DashboardApi.GovernanceAsync);
        return dashboard;
    }
}
