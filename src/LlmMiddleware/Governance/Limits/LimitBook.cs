using System.Collections.Frozen;
using LlmMiddleware.Identity;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// The rate limits in force, and which of them count a call: for each scope, the limit naming the call's subject —
/// its key, team, user, app, tags, model or group — else the scope's <c>*</c> limit.
/// </summary>
internal sealed class LimitBook
{
    private static readonly Dictionary<string, string> EmptyTags = [];
    private Rules _rules = Rules.Empty;

    public IReadOnlyList<LlmRateLimit> Limits => _rules.All;

    public bool IsEmpty => _rules.All.Length == 0;

    public void Replace(IEnumerable<LlmRateLimit> limits) => Volatile.Write(ref _rules, new Rules([.. limits.Select(l => l.Clone())]));

    /// <summary>The subjects a call of <paramref name="caller"/> is counted under, with their limits. The caller's own
    /// are worked out once per identity (a key's identity is one object for all its calls) and rule change.</summary>
    public LimitSubject[] Subjects(LlmRequestContext context, LlmCallerIdentity caller)
    {
        var rules = Volatile.Read(ref _rules);
        if (rules.All.Length == 0)
        {
            return [];
        }

        var own = _callers.Get(caller, rules, CallerSubjects);
        if (!rules.CountsModels)
        {
            return own;
        }

        List<LimitSubject>? subjects = [.. own]; // Add may only grow it
        Add(ref subjects, rules, LlmRateLimitScope.Model, context.RequestedModel);
        if (CallEstimate.Candidates(context)?[0].Group is { } group)
        {
            Add(ref subjects, rules, LlmRateLimitScope.Group, group);
        }

        return [.. subjects!];
    }

    private readonly PerCaller<Rules, LimitSubject[]> _callers = new();

    private static LimitSubject[] CallerSubjects(Rules rules, LlmCallerIdentity caller)
    {
        List<LimitSubject>? subjects = null;
        foreach (var scope in rules.Scopes)
        {
            if (scope == LlmRateLimitScope.Tag)
            {
                foreach (var (name, value) in caller.Tags ?? EmptyTags)
                {
                    Add(ref subjects, rules, scope, $"{name}={value}");
                }
            }
            else if (SubjectOf(caller, scope) is { } subject)
            {
                Add(ref subjects, rules, scope, subject);
            }
        }

        return subjects is null ? [] : [.. subjects];
    }

    private static void Add(ref List<LimitSubject>? subjects, Rules rules, LlmRateLimitScope scope, string subject)
    {
        if (rules.Of(scope, subject) is { } rule)
        {
            (subjects ??= []).Add(new LimitSubject(rule, scope, subject));
        }
    }

    private static string? SubjectOf(LlmCallerIdentity caller, LlmRateLimitScope scope) => scope switch
    {
        LlmRateLimitScope.Key => caller.Key,
        LlmRateLimitScope.Team => caller.Team,
        LlmRateLimitScope.User => caller.User,
        LlmRateLimitScope.App => caller.App,
        _ => null, // model and group: the call's, not the caller's
    };

    private sealed class Rules
    {
        public static readonly Rules Empty = new([]);

        private readonly FrozenDictionary<(LlmRateLimitScope, string), LlmRateLimit> _named;
        private readonly FrozenDictionary<LlmRateLimitScope, LlmRateLimit> _each;

        public Rules(LlmRateLimit[] all)
        {
            All = all;
            Scopes = [.. all.Select(l => l.Scope).Distinct()];
            // The last given for a slot wins.
            _each = all.Where(l => l.Subject == "*").GroupBy(l => l.Scope).ToFrozenDictionary(g => g.Key, g => g.Last());
            _named = all.Where(l => l.Subject != "*").GroupBy(l => (l.Scope, l.Subject)).ToFrozenDictionary(g => g.Key, g => g.Last());
        }

        public LlmRateLimit[] All { get; }

        public LlmRateLimitScope[] Scopes { get; }

        /// <summary>Whether any limit counts a model or a model group (per call, not per caller).</summary>
        public bool CountsModels => Array.Exists(Scopes, s => s is LlmRateLimitScope.Model or LlmRateLimitScope.Group);

        public LlmRateLimit? Of(LlmRateLimitScope scope, string subject) =>
            _named.TryGetValue((scope, subject), out var named) ? named : _each.GetValueOrDefault(scope);
    }
}
