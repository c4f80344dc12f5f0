using System.Text;
using System.Text.RegularExpressions;

namespace LlmMiddleware.Upstream;

/// <summary>
/// Removes what looks like a provider credential from provider error text before a caller sees it: whole or masked API
/// keys (<c>sk-…</c>, <c>sk-ant-…</c>, <c>AIza…</c>, <c>sk-proj-****abcd</c>) become <c>[redacted]</c>.
/// </summary>
internal static partial class ProviderSecrets
{
    private const string Redacted = "[redacted]";

    public static string Redact(string text) => text.Contains("sk-", StringComparison.Ordinal) || text.Contains("AIza", StringComparison.Ordinal) || text.Contains("***", StringComparison.Ordinal)
        ? KeyPattern().Replace(text, Redacted)
        : text;

    public static ReadOnlyMemory<byte> Redact(ReadOnlyMemory<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8.Span);
        var redacted = Redact(text);
        return ReferenceEquals(text, redacted) ? utf8 : Encoding.UTF8.GetBytes(redacted);
    }

    [GeneratedRegex(@"\b(?:sk-[A-Za-z0-9_*\-]{6,}|AIza[A-Za-z0-9_\-]{20,}|[A-Za-z0-9_\-]*\*{3,}[A-Za-z0-9_\-*]*)", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();
}
