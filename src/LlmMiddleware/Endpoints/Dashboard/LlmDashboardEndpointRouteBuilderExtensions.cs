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
    /// elsewhere) showing spend by model, key, team, app, user or day and the experiments' reports — and the JSON it
    /// reads (<c>api/spend</c>, <c>api/experiments</c>), all behind the host's authorization policy
    /// <paramref name="authorizationPolicy"/> (required: the dashboard shows who spends what).
    /// </summary>
    public static RouteGroupBuilder MapLlmDashboard(this IEndpointRouteBuilder endpoints, string prefix, string authorizationPolicy)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        LlmAdminEndpointRouteBuilderExtensions.RequirePolicy(endpoints, authorizationPolicy, "The dashboard shows who spends what: name the authorization policy that guards it.", "the dashboard");
        var spend = endpoints.ServiceProvider.GetService<ILlmSpendReport>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call services.AddLlmGateway() before app.MapLlmDashboard().");
        var dashboard = endpoints.MapGroup(prefix);
        dashboard.RequireAuthorization(authorizationPolicy);
        dashboard.MapGet("/", (HttpContext http) => DashboardAssets.Page(http.Request.PathBase + prefix.TrimEnd('/') + "/"));
        dashboard.MapGet("/dashboard.js", () => DashboardAssets.Serve("dashboard.js"));
        dashboard.MapGet("/dashboard.css", () => DashboardAssets.Serve("dashboard.css"));
        dashboard.MapGet("/api/spend", http => SpendEndpoint.HandleAsync(http, spend));
        dashboard.MapGet("/api/experiments", (Func<HttpContext, Task<IResult>>)(async http => Results.Json(await DashboardAssets.ExperimentsAsync(http).ConfigureAwait(false), LlmMiddleware.Endpoints.Admin.AdminJson.Options)));
        return dashboard;
    }
}
