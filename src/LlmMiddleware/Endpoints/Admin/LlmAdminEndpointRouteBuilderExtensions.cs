using LlmMiddleware;
using LlmMiddleware.Endpoints;
using LlmMiddleware.Endpoints.Admin;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the LLM gateway's admin API.</summary>
public static class LlmAdminEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the admin API under <paramref name="prefix"/>, every endpoint behind the host's authorization policy
    /// <paramref name="authorizationPolicy"/> (required: the API issues keys and moves budgets): <c>/keys</c> (issue,
    /// list, rotate, revoke), <c>/budgets</c>, <c>/budgets/status</c> and <c>/limits</c> (list, set, remove), and
    /// <c>/experiments</c> (list, report, start, stop), <c>/spend?groupBy=key|team|user|app|model|day&amp;from=&amp;to=</c>
    /// from <see cref="ILlmSpendReport"/> and <c>/traffic?from=&amp;to=</c> (per deployment) from
    /// <see cref="ILlmTrafficReport"/> — the PostgreSQL ledger's every-instance figures when it is added, else this instance's.
    /// </summary>
    public static RouteGroupBuilder MapLlmAdmin(this IEndpointRouteBuilder endpoints, string prefix, string authorizationPolicy)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        RequirePolicy(endpoints, authorizationPolicy, "The admin API issues keys and sets budgets: name the authorization policy that guards it.", "the admin API");
        var report = endpoints.ServiceProvider.GetService<ILlmSpendReport>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call services.AddLlmGateway() before app.MapLlmAdmin().");
        var traffic = endpoints.ServiceProvider.GetRequiredService<ILlmTrafficReport>();
        var admin = endpoints.MapGroup(prefix);
        admin.RequireAuthorization(authorizationPolicy);
        AdminKeys.Map(admin);
        AdminLimits.Map(admin);
        AdminExperiments.Map(admin);
        admin.MapGet("/spend", http => SpendEndpoint.HandleAsync(http, report));
        admin.MapGet("/traffic", (Func<HttpContext, Task<IResult>>)(http => TrafficEndpoint.HandleAsync(http, traffic)));
        return admin;
    }

    /// <summary>Refuses to map operator endpoints without a policy, or with one the host does not have.</summary>
    internal static void RequirePolicy(IEndpointRouteBuilder endpoints, string authorizationPolicy, string why, string what)
    {
        if (string.IsNullOrWhiteSpace(authorizationPolicy))
        {
            throw new ArgumentException(why, nameof(authorizationPolicy));
        }

        var policies = endpoints.ServiceProvider.GetService<IAuthorizationPolicyProvider>();
        if (policies?.GetPolicyAsync(authorizationPolicy).GetAwaiter().GetResult() is null)
        {
            throw new InvalidOperationException($"No authorization policy named '{authorizationPolicy}': add it with AddAuthorization(o => o.AddPolicy(\"{authorizationPolicy}\", ...)) before mapping {what}.");
        }
    }
}
