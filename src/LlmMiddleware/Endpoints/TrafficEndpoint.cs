using LlmMiddleware.Endpoints.Admin;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary>
/// Traffic per provider model and deployment (<see cref="ILlmTrafficReport"/>) over optional UTC days:
/// <c>{"from":null,"to":null,"rows":[{"provider","model","deployment","calls","errors","latencyP50Ms",...}]}</c>.
/// </summary>
internal static class TrafficEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext http, ILlmTrafficReport traffic)
    {
        var query = http.Request.Query;
        if (!SpendEndpoint.TryParseDay(query["from"], out var from) || !SpendEndpoint.TryParseDay(query["to"], out var to))
        {
            return AdminJson.Error(StatusCodes.Status400BadRequest, "Give from and to as days, yyyy-MM-dd, or leave them out.");
        }

        return AdminJson.Ok(new { from, to, rows = await traffic.QueryAsync(from, to, http.RequestAborted).ConfigureAwait(false) });
    }
}
