using System.Collections.Frozen;
using System.IO.Hashing;
using System.Text;
using LlmMiddleware.Upstream;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Experiments;

/// <summary>
/// The experiments, by the model name their callers send. Until a call is assigned an arm that name is served by the
/// experiment's control arm (<see cref="IModelRedirect"/>), so everything before the experiments stage sees a routable call.
/// </summary>
internal sealed class ExperimentBook(IOptions<LlmExperimentOptions> options) : IModelRedirect
{
    private readonly FrozenDictionary<string, ExperimentSplit> _byModel = options.Value.Experiments
        .ToFrozenDictionary(e => e.Value.Model ?? e.Key, e => new ExperimentSplit(e.Key, e.Value), StringComparer.OrdinalIgnoreCase);

    public bool IsEmpty => _byModel.Count == 0;

    public IEnumerable<ExperimentSplit> All => _byModel.Values;

    public ExperimentSplit? For(string model) => _byModel.GetValueOrDefault(model);

    public string? Redirect(string requested) => For(requested)?.Control.Model;
}

/// <summary>One experiment, ready to assign: its arms' cumulative shares, its schedule and whether it was started or
/// stopped at run time.</summary>
internal sealed class ExperimentSplit
{
    private readonly double[] _cumulative;
    private readonly ulong _seed;
    private volatile int _switched; // 0: by its settings; 1: started; -1: stopped

    public ExperimentSplit(string name, LlmExperiment settings)
    {
        (Name, Settings) = (name, settings);
        Arms = [.. settings.Arms.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => (a.Key, a.Value.Model))];
        ControlIndex = Math.Max(Array.FindIndex(Arms, a => a.Name == settings.Control), 0);
        var total = settings.Arms.Values.Sum(a => a.Weight);
        var sum = 0d;
        _cumulative = [.. Arms.Select(a => (sum += settings.Arms[a.Name].Weight) / total)];
        _seed = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(name));
        _assignments = [.. Arms.Select(a => new LlmExperimentAssignment(name, a.Name))];
    }

    private readonly LlmExperimentAssignment[] _assignments;

    /// <summary>The assignment to arm <paramref name="arm"/> (made once: calls share it).</summary>
    public LlmExperimentAssignment AssignmentTo(int arm, bool overridden) => overridden ? _assignments[arm] with { Overridden = true } : _assignments[arm];

    public string Name { get; }

    public LlmExperiment Settings { get; }

    /// <summary>The arms in name order.</summary>
    public (string Name, string Model)[] Arms { get; }

    public int ControlIndex { get; }

    public (string Name, string Model) Control => Arms[ControlIndex];

    public bool IsRunning(DateTimeOffset now) => _switched switch
    {
        1 => true,
        -1 => false,
        _ => Settings.Enabled && !(now < Settings.StartsAt) && !(now >= Settings.EndsAt),
    };

    public void Switch(bool running) => _switched = running ? 1 : -1;

    /// <summary>The arm (its index) for <paramref name="subject"/>: the same on every instance (a stable hash, seeded by the
    /// experiment's name so that experiments split independently); at random without one.</summary>
    public int Assign(string? subject)
    {
        var share = subject is null ? Random.Shared.NextDouble() : Share(subject);
        for (var i = 0; i < _cumulative.Length - 1; i++)
        {
            if (share < _cumulative[i])
            {
                return i;
            }
        }

        return _cumulative.Length - 1;
    }

    private double Share(string subject)
    {
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetMaxByteCount(subject.Length) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(subject, buffer)] : Encoding.UTF8.GetBytes(subject);
        return (XxHash3.HashToUInt64(bytes, (long)_seed) >> 11) * (1d / (1UL << 53));
    }
}
