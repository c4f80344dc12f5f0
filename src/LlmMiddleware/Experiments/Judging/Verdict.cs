using System.Text.Json;

namespace LlmMiddleware.Experiments.Judging;

/// <summary>Reads a judge's reply: the JSON object in it (models wrap JSON in prose or code fences), a score of 1–10.</summary>
internal static class Verdict
{
    public static (double Score, string Rationale) Read(string reply)
    {
        var (start, end) = (reply.IndexOf('{'), reply.LastIndexOf('}'));
        if (start < 0 || end < start)
        {
            throw new FormatException($"The judge's reply holds no JSON verdict: {Shorten(reply)}");
        }

        try
        {
            using var verdict = JsonDocument.Parse(reply.AsMemory(start, end - start + 1));
            var root = verdict.RootElement;
            var score = root.GetProperty("score") switch
            {
                { ValueKind: JsonValueKind.Number } number => number.GetDouble(),
                { ValueKind: JsonValueKind.String } text when double.TryParse(text.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
                _ => double.NaN,
            };
            return score is >= 1 and <= 10
                ? (score, root.TryGetProperty("rationale", out var why) && why.ValueKind == JsonValueKind.String ? why.GetString()! : "")
                : throw new FormatException($"The judge's score is not between 1 and 10: {Shorten(reply)}");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"The judge's verdict is unreadable: {Shorten(reply)}", ex);
        }
    }

    private static string Shorten(string reply) => reply.Length <= 200 ? reply : reply[..200] + "…";
}
