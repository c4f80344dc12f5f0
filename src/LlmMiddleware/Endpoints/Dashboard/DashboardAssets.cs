using System.Collections.Frozen;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Endpoints.Dashboard;

/// <summary>The dashboard's page, script and style sheet, embedded in the assembly; and the experiments it shows.</summary>
internal static class DashboardAssets
{
    private static readonly FrozenDictionary<string, (byte[] Bytes, string Type)> Assets = new[] { ("index.html", "text/html; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8"), ("dashboard.css", "text/css; charset=utf-8") }
        .ToFrozenDictionary(a => a.Item1, a => (Read(a.Item1), a.Item2));

    /// <summary>The page, its links relative to <paramref name="root"/> (with or without the trailing slash, the page works).</summary>
    public static IResult Page(string root) =>
        Results.Text(Encoding.UTF8.GetString(Assets["index.html"].Bytes).Replace("__ROOT__", System.Net.WebUtility.HtmlEncode(root), StringComparison.Ordinal), "text/html; charset=utf-8");

    public static IResult Serve(string name)
    {
        var (bytes, type) = Assets[name];
        return Results.Bytes(bytes, type);
    }

    /// <summary>Each experiment, whether it runs, and its report; none without <c>AddExperiments()</c>.</summary>
    public static async Task<List<object>> ExperimentsAsync(HttpContext http)
    {
        var shown = new List<object>();
        if (http.RequestServices.GetService<LlmExperiments>() is { } experiments)
        {
            foreach (var name in experiments.Names)
            {
                shown.Add(new { name, running = experiments.IsRunning(name), report = await experiments.ReportAsync(name, http.RequestAborted).ConfigureAwait(false) });
            }
        }

        return shown;
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(DashboardAssets).Assembly.GetManifestResourceStream("LlmMiddleware.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard's '{name}' is missing from the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
