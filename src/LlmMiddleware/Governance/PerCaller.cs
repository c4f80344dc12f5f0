using System.Runtime.CompilerServices;

namespace LlmMiddleware.Governance;

/// <summary>
/// What a set of rules makes of a caller, worked out once per caller identity (a key's identity is one object for all
/// its calls) and rule change; forgotten with the identity.
/// </summary>
internal sealed class PerCaller<TRules, T>
    where TRules : class
    where T : class
{
    private readonly ConditionalWeakTable<LlmCallerIdentity, Known> _known = [];

    /// <summary>What <paramref name="rules"/> make of <paramref name="caller"/>: remembered, or made now by <paramref name="make"/>.</summary>
    public T Get(LlmCallerIdentity caller, TRules rules, Func<TRules, LlmCallerIdentity, T> make)
    {
        if (_known.TryGetValue(caller, out var known) && ReferenceEquals(known.Rules, rules))
        {
            return known.Value;
        }

        var value = make(rules, caller);
        _known.AddOrUpdate(caller, new Known(rules, value));
        return value;
    }

    private sealed record Known(TRules Rules, T Value);
}
