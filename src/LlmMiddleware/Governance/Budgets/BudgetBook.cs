using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// The budgets in force and every subject's account under them. Finds the accounts a caller's call is charged to —
/// for each scope and period, the budget naming the subject, else the scope's <c>*</c> budget — and reserves on all of
/// them or none.
/// </summary>
internal sealed class BudgetBook(BudgetPeriods periods)
{
    private readonly ConcurrentDictionary<(LlmBudgetScope, string, LlmBudgetPeriod), BudgetAccount> _accounts = new();
    private Rules _rules = Rules.Empty;

    public BudgetPeriods Periods { get; } = periods;

    public IReadOnlyList<LlmBudget> Budgets => _rules.All;

    public bool IsEmpty => _rules.All.Length == 0;

    /// <summary>Puts <paramref name="budgets"/> in force (spend so far is kept: an account outlives changes to its budget).</summary>
    public void Replace(IEnumerable<LlmBudget> budgets) => Volatile.Write(ref _rules, new Rules([.. budgets.Select(b => b.Clone())]));

    /// <summary>Reserves <paramref name="amount"/> on every account <paramref name="caller"/> is charged to, or on none:
    /// returns the refusing budget's state when one has no room.</summary>
    public LlmBudgetStatus? TryReserve(LlmCallerIdentity caller, decimal amount, DateTimeOffset now, List<(LlmBudget, BudgetAccount)> reserved)
    {
        var rules = Volatile.Read(ref _rules);
        foreach (var scope in rules.Scopes)
        {
            switch (scope)
            {
                case LlmBudgetScope.Tag when caller.Tags is { } tags:
                    foreach (var (name, value) in tags)
                    {
                        if (TryReserve(rules, scope, $"{name}={value}", amount, now, reserved) is { } refusal)
                        {
                            return refusal;
                        }
                    }

                    break;
                case not LlmBudgetScope.Tag when SubjectOf(caller, scope) is { } subject:
                    if (TryReserve(rules, scope, subject, amount, now, reserved) is { } refused)
                    {
                        return refused;
                    }

                    break;
            }
        }

        return null;
    }

    public LlmBudgetStatus[] Status(LlmBudgetScope scope, string subject, DateTimeOffset now) =>
        [.. Volatile.Read(ref _rules).Of(scope, subject).Select(budget => Account(scope, subject, budget.Period).Status(budget, now, Periods))];

    public IEnumerable<LlmBudgetStatus> Statuses(DateTimeOffset now) =>
        _accounts.Select(pair => (pair.Key, pair.Value, Budget: Volatile.Read(ref _rules).For(pair.Key.Item1, pair.Key.Item2, pair.Key.Item3)))
            .Where(a => a.Budget is not null)
            .Select(a => a.Value.Status(a.Budget!, now, Periods));

    private LlmBudgetStatus? TryReserve(Rules rules, LlmBudgetScope scope, string subject, decimal amount, DateTimeOffset now, List<(LlmBudget, BudgetAccount)> reserved)
    {
        foreach (var budget in rules.Of(scope, subject))
        {
            var account = Account(scope, subject, budget.Period);
            if (!account.TryReserve(budget, amount, now, Periods, out _))
            {
                foreach (var (taken, on) in reserved)
                {
                    on.Settle(taken, amount, 0m, now, Periods);
                }

                reserved.Clear();
                return account.Status(budget, now, Periods);
            }

            reserved.Add((budget, account));
        }

        return null;
    }

    private BudgetAccount Account(LlmBudgetScope scope, string subject, LlmBudgetPeriod period) =>
        _accounts.GetOrAdd((scope, subject, period), static key => new BudgetAccount(key.Item2, key.Item3));

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

        public LlmBudget? For(LlmBudgetScope scope, string subject, LlmBudgetPeriod period) => Array.Find(Of(scope, subject), b => b.Period == period);

        /// <summary>One budget per period: the last given wins.</summary>
        private static LlmBudget[] Latest(IEnumerable<LlmBudget> budgets) => [.. budgets.Reverse().DistinctBy(b => b.Period)];
    }
}
