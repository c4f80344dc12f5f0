using System.Text.Json;

namespace LlmMiddleware.Experiments.Judging;

/// <summary>Reads a judge's reply: the JSON object in it (models wrap JSON in prose or code fences) — a score of 1–10, or a pairwise winner.</summary>
internal static class Verdict
{
    public static (double Score, string Rationale) Read(string reply)
    {
        using var verdict = Object(reply);
        var root = verdict.RootElement;
        var score = root.TryGetProperty("score", out var given) ? given switch
        {
            { ValueKind: JsonValueKind.Number } number => number.GetDouble(),
            { ValueKind: JsonValueKind.String } text when double.TryParse(text.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => double.NaN,
        } : double.NaN;
        return score is >= 1 and <= 10 ? (score, Rationale(root)) : throw new FormatException($"The judge gave no score between 1 and 10: {Shorten(reply)}");
    }

    /// <summary>A pairwise verdict: 'A', 'B', or 'T' for a tie; and the rationale.</summary>
    public static (char Winner, string Rationale) ReadPairwise(string reply)
    {
        using var verdict = Object(reply);
        var root = verdict.RootElement;
        var winner = root.TryGetProperty("winner", out var named) && named.ValueKind == JsonValueKind.String ? named.GetString()!.Trim() : "";
        return winner.ToUpperInvariant() switch
        {
            "A" => ('A', Rationale(root)),
            "B" => ('B', Rationale(root)),
            "TIE" => ('T', Rationale(root)),
            _ => throw new FormatException($"The judge named no winner (A, B or tie): {Shorten(reply)}"),
        };
    }

    private static JsonDocument Object(string reply)
    {
        var (start, end) = (reply.IndexOf('{'), reply.LastIndexOf('}'));
        try
        {
            return start >= 0 && end > start ? JsonDocument.Parse(reply.AsMemory(start, end - start + 1)) : throw new FormatException($"The judge's reply holds no JSON verdict: {Shorten(reply)}");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The judge's verdict is unreadable: {Shorten(reply)}", ex);
        }
    }

    private static string Rationale(JsonElement root) => root.TryGetProperty("rationale", out var why) && why.ValueKind == JsonValueKind.String ? why.GetString()! : "";

    private static string Shorten(string reply) => reply.Length <= 200 ? reply : reply[..200] + "…";
}
