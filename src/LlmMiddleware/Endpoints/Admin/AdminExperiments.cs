using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmMiddleware.Endpoints.Admin;

/// <summary>
/// <c>/experiments</c>: the experiments and whether each runs; <c>/experiments/{name}/report</c>, how its arms fare per
/// task and which fits each (<see cref="LlmExperiments.ReportAsync"/>); <c>POST /experiments/{name}/start</c> and
/// <c>/stop</c>, on this instance.
/// </summary>
internal static class AdminExperiments
{
    private const string EnabledBy = "AddExperiments()";

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/experiments", (HttpContext http) => AdminJson.Service<LlmExperiments>(http, EnabledBy, out var missing) is { } experiments
            ? AdminJson.Ok(experiments.Names.Select(name => new { name, running = experiments.IsRunning(name) }))
            : missing!);
        admin.MapGet("/experiments/{name}/report", async (HttpContext http, string name) =>
            AdminJson.Service<LlmExperiments>(http, EnabledBy, out var missing) is not { } experiments ? missing!
                : !experiments.Names.Contains(name) ? AdminJson.Error(404, $"No experiment '{name}'.")
                : AdminJson.Ok(await experiments.ReportAsync(name, http.RequestAborted).ConfigureAwait(false)));
        admin.MapPost("/experiments/{name}/start", (HttpContext http, string name) => Switch(http, name, running: true));
        admin.MapPost("/experiments/{name}/stop", (HttpContext http, string name) => Switch(http, name, running: false));
    }

    private static IResult Switch(HttpContext http, string name, bool running)
    {
        if (AdminJson.Service<LlmExperiments>(http, EnabledBy, out var missing) is not { } experiments)
        {
            return missing!;
        }

        if (!experiments.Names.Contains(name))
        {
            return AdminJson.Error(404, $"No experiment '{name}'.");
        }

        (running ? (Action<string>)experiments.Start : experiments.Stop)(name);
        return AdminJson.Ok(new { name, running = experiments.IsRunning(name) });
    }
}
