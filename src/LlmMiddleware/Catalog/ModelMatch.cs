using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmMiddleware.Catalog;

/// <summary>
/// A price list's rule for which model ids an entry covers (dated snapshots, aliases, vendor prefixes): <c>equals</c>,
/// <c>starts_with</c>, <c>ends_with</c>, <c>contains</c>, <c>regex</c>, and <c>and</c>/<c>or</c> of rules. Ids are
/// compared lower-cased and trimmed, as the price list's own matcher does.
/// </summary>
internal abstract class ModelMatch
{
    // Regexes run on ids the caller may choose, so each gets a time limit; ids longer than this are never looked up.
    public const int MaxIdLength = 256;
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>Whether the rule covers <paramref name="id"/>, already lower-cased and trimmed.</summary>
    public abstract bool IsMatch(string id);

    /// <summary>Compiles the rule's regexes now (tests check the list's patterns are valid .NET regexes).</summary>
    public virtual void Compile()
    {
    }

    public static ModelMatch Parse(JsonElement rule)
    {
        if (rule.ValueKind != JsonValueKind.Object || rule.GetPropertyCount() != 1)
        {
            throw new FormatException($"A model match rule has exactly one of equals, starts_with, ends_with, contains, regex, and, or: {rule}");
        }

        var (kind, value) = rule.EnumerateObject().Select(p => (p.Name, p.Value)).Single();
        return kind switch
        {
            "and" => new AllMatch([.. value.EnumerateArray().Select(Parse)]),
            "or" => new AnyMatch([.. value.EnumerateArray().Select(Parse)]),
            "regex" => new RegexMatch(value.GetString()!),
            _ => new TextMatch(kind, value.GetString()!.ToLowerInvariant()),
        };
    }

    private sealed class TextMatch(string kind, string value) : ModelMatch
    {
        private readonly Func<string, bool> _test = kind switch
        {
            "equals" => id => id == value,
            "starts_with" => id => id.StartsWith(value, StringComparison.Ordinal),
            "ends_with" => id => id.EndsWith(value, StringComparison.Ordinal),
            "contains" => id => id.Contains(value, StringComparison.Ordinal),
            _ => throw new FormatException($"Unknown model match rule '{kind}'."),
        };

        public override bool IsMatch(string id) => _test(id);
    }

    private sealed class RegexMatch(string pattern) : ModelMatch
    {
        // Compiled on first use: most of the list's patterns are never needed by a given host.
        private Regex? _regex;

        private Regex Regex => _regex ??= new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);

        public override void Compile() => _ = Regex;

        public override bool IsMatch(string id)
        {
            try
            {
                return Regex.IsMatch(id);
            }
            catch (RegexMatchTimeoutException)
            {
                return false;
            }
        }
    }

    private sealed class AllMatch(ModelMatch[] rules) : ModelMatch
    {
        public override bool IsMatch(string id) => Array.TrueForAll(rules, r => r.IsMatch(id));

        public override void Compile() => Array.ForEach(rules, r => r.Compile());
    }

    private sealed class AnyMatch(ModelMatch[] rules) : ModelMatch
    {
        public override bool IsMatch(string id) => Array.Exists(rules, r => r.IsMatch(id));

        public override void Compile() => Array.ForEach(rules, r => r.Compile());
    }
}
