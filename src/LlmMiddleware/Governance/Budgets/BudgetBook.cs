using System.Collections.Frozen;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// The budgets in force, and which of them a caller's call is charged to: for each scope and period, the budget naming
/// the subject, else the scope's <c>*</c> budget.
/// </summary>
internal sealed class BudgetBook
{
    private Rules _rules = Rules.Empty;

    public IReadOnlyList<LlmBudget> Budgets => _rules.All;

    public bool IsEmpty => _rules.All.Length == 0;

    /// <summary>Puts <paramref name="budgets"/> in force (spend so far is kept: an account outlives changes to its budget).</summary>
    public void Replace(IEnumerable<LlmBudget> budgets) => Volatile.Write(ref _rules, new Rules([.. budgets.Select(b => b.Clone())]));

    /// <summary>The accounts a call of <paramref name="caller"/> is charged to; worked out once per identity (a key's
    /// identity is one object for all its calls) and rule change.</summary>
    public BudgetCharge[] Charges(LlmCallerIdentity caller)
    {
        var rules = Volatile.Read(ref _rules);
        if (rules.All.Length == 0)
        {
            return [];
        }

        return _charges.Get(caller, rules, Resolve);
    }

    private readonly PerCaller<Rules, BudgetCharge[]> _charges = new();

    private static BudgetCharge[] Resolve(Rules rules, LlmCallerIdentity caller)
    {
        List<BudgetCharge>? charges = null;
        foreach (var scope in rules.Scopes)
        {
            if (scope == LlmBudgetScope.Tag)
            {
                foreach (var (name, value) in caller.Tags ?? EmptyTags)
                {
                    Add(ref charges, rules, scope, $"{name}={value}");
                }
            }
            else if (SubjectOf(caller, scope) is { } subject)
            {
                Add(ref charges, rules, scope, subject);
            }
        }

        return charges is null ? [] : [.. charges];
    }

    /// <summary>The budgets of <paramref name="subject"/> in <paramref name="scope"/>, one per period.</summary>
    public LlmBudget[] Of(LlmBudgetScope scope, string subject) => Volatile.Read(ref _rules).Of(scope, subject);

    /// <summary>The budget in force for an account, if any.</summary>
    public LlmBudget? For(LlmBudgetScope scope, string subject, LlmBudgetPeriod period) => Array.Find(Of(scope, subject), b => b.Period == period);

    private static readonly Dictionary<string, string> EmptyTags = [];

    private static void Add(ref List<BudgetCharge>? charges, Rules rules, LlmBudgetScope scope, string subject)
    {
        foreach (var budget in rules.Of(scope, subject))
        {
            (charges ??= []).Add(new BudgetCharge(budget, subject));
        }
    }

    private static string? SubjectOf(LlmCallerIdentity caller, LlmBudgetScope scope) => scope switch
    {
        LlmBudgetScope.Key => caller.Key,
        LlmBudgetScope.Team => caller.Team,
        LlmBudgetScope.User => caller.User,
        _ => caller.App,
    };

    /// <summary>The budgets in force, indexed: by scope and subject, one per period, a subject's own over the scope's <c>*</c>.</summary>
    private sealed class Rules
    {
        public static readonly Rules Empty = new([]);

        private readonly FrozenDictionary<(LlmBudgetScope, string), LlmBudget[]> _named;
        private readonly FrozenDictionary<LlmBudgetScope, LlmBudget[]> _each;

        public Rules(LlmBudget[] all)
        {
            All = all;
            Scopes = [.. all.Select(b => b.Scope).Distinct()];
            _each = all.Where(b => b.Subject == "*").GroupBy(b => b.Scope).ToFrozenDictionary(g => g.Key, g => Latest(g));
            _named = all.Where(b => b.Subject != "*").GroupBy(b => (b.Scope, b.Subject)).ToFrozenDictionary(g => g.Key, g =>
            {
                var own = Latest(g);
                return (LlmBudget[])[.. own, .. (_each.GetValueOrDefault(g.Key.Scope) ?? []).Where(each => !Array.Exists(own, b => b.Period == each.Period))];
            });
        }

        public LlmBudget[] All { get; }

        public LlmBudgetScope[] Scopes { get; }

        public LlmBudget[] Of(LlmBudgetScope scope, string subject) =>
            _named.TryGetValue((scope, subject), out var named) ? named : _each.GetValueOrDefault(scope) ?? [];

        /// <summary>One budget per period: the last given wins.</summary>
        private static LlmBudget[] Latest(IEnumerable<LlmBudget> budgets) => [.. budgets.Reverse().DistinctBy(b => b.Period)];
    }
}
