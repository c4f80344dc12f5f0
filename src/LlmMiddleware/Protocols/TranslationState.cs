namespace LlmMiddleware.Protocols;

/// <summary>What a request translation changed that the response translation must undo.</summary>
internal sealed class TranslationState
{
    /// <summary>The name of the forced tool used to obtain JSON output from Anthropic.</summary>
    public const string JsonToolName = "json_tool_call";

    private Dictionary<string, string>? _toolNames;

    /// <summary>Whether JSON mode was emulated with a forced tool whose input becomes the text answer.</summary>
    public bool JsonToolMode { get; set; }

    /// <summary>Records that <paramref name="original"/> was sent upstream as <paramref name="upstream"/>.</summary>
    public void MapToolName(string upstream, string original)
    {
        if (!string.Equals(upstream, original, StringComparison.Ordinal))
        {
            (_toolNames ??= new(StringComparer.Ordinal))[upstream] = original;
        }
    }

    /// <summary>The caller's name for a tool the provider called.</summary>
    public string RestoreToolName(string upstream) =>
        _toolNames is not null && _toolNames.TryGetValue(upstream, out var original) ? original : upstream;
}
