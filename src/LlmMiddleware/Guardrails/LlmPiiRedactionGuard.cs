using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace LlmMiddleware;

/// <summary>
/// The built-in example output guard: replaces matches of regular expressions (by default e-mail addresses, payment
/// card numbers, US social security numbers and phone numbers) with <c>[REDACTED:{name}]</c> in answers, streamed or
/// not. A stream's text is held back by up to <see cref="LlmPiiRedactionOptions.MaxMatchLength"/> characters, so a
/// match split across deltas is still seen whole. Register with <c>AddLlmGateway().AddPiiRedaction()</c>.
/// </summary>
public sealed class LlmPiiRedactionGuard : LlmOutputGuard
{
    private readonly Regex _pattern;
    private readonly string[] _names;
    private readonly int _holdBack;

    /// <summary>Creates the guard from its options.</summary>
    public LlmPiiRedactionGuard(IOptions<LlmPiiRedactionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var patterns = options.Value.Patterns;
        _names = [.. patterns.Keys];
        _pattern = new Regex(string.Join('|', _names.Select((name, i) => $"(?<p{i}>{patterns[name]})")), RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
        _holdBack = options.Value.MaxMatchLength;
    }

    /// <inheritdoc/>
    public override ValueTask OnResponseAsync(LlmRequestContext context, LlmResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        for (var i = 0; i < response.Content.Count; i++)
        {
            if (response.Content[i] is LlmTextPart text && Redact(text.Text) is var redacted && !ReferenceEquals(redacted, text.Text))
            {
                response.Content[i] = new LlmTextPart(redacted) { CacheControl = text.CacheControl };
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override LlmStreamGuard OnStream(LlmRequestContext context) => new RedactingStream(this);

    /// <summary>The text with every match replaced (the same instance when nothing matched).</summary>
    public string Redact(string text) => _pattern.Replace(text, m => $"[REDACTED:{Name(m)}]");

    private string Name(Match match)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            if (match.Groups[$"p{i}"].Success)
            {
                return _names[i];
            }
        }

        return "pii";
    }

    private sealed class RedactingStream(LlmPiiRedactionGuard guard) : LlmStreamGuard
    {
        private readonly StringBuilder _pending = new();

        public override string OnText(string text)
        {
            _pending.Append(text);
            var safe = _pending.Length - guard._holdBack;
            if (safe <= 0)
            {
                return "";
            }

            // Everything before `safe` goes out, except from the start of a match that runs past it (it may grow yet).
            var buffered = _pending.ToString();
            var cut = safe;
            for (var match = guard._pattern.Match(buffered); match.Success; match = match.NextMatch())
            {
                if (match.Index + match.Length > safe)
                {
                    cut = Math.Min(cut, match.Index);
                    break;
                }
            }

            _pending.Remove(0, cut);
            return guard.Redact(buffered[..cut]);
        }

        public override string OnTextEnd()
        {
            var rest = _pending.ToString();
            _pending.Clear();
            return guard.Redact(rest);
        }
    }
}

/// <summary>Options of <see cref="LlmPiiRedactionGuard"/> (<c>LlmGateway:PiiRedaction</c>).</summary>
public sealed class LlmPiiRedactionOptions
{
    /// <summary>The configuration section, under <c>LlmGateway</c>.</summary>
    public const string SectionName = "LlmGateway:PiiRedaction";

    /// <summary>Regular expressions by name; the name appears in the replacement. Replace or add entries to change them.</summary>
    public Dictionary<string, string> Patterns { get; } = new(StringComparer.Ordinal)
    {
        ["email"] = @"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}",
        ["card"] = @"\b(?:\d[ \-]?){12,18}\d\b",
        ["ssn"] = @"\b\d{3}-\d{2}-\d{4}\b",
        ["phone"] = @"(?<!\w)\+?\d{1,3}[ .\-]?\(?\d{2,4}\)?[ .\-]?\d{3,4}[ .\-]?\d{3,4}\b",
    };

    /// <summary>The longest text a pattern can match: how much of a stream's text is held back. Default 128.</summary>
    public int MaxMatchLength { get; set; } = 128;
}
