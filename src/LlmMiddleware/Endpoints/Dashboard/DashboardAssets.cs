using System.Collections.Frozen;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints.Dashboard;

/// <summary>The dashboard's page, script and style sheet, embedded in the assembly.</summary>
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

    private static byte[] Read(string name)
    {
        using var stream = typeof(DashboardAssets).Assembly.GetManifestResourceStream("LlmMiddleware.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard's '{name}' is missing from the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
