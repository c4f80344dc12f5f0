using LlmMiddleware.Experiments;

namespace LlmMiddleware;

/// <summary>The experiments (<c>AddExperiments()</c>): which run, and starting or stopping one at run time on this instance.</summary>
public sealed class LlmExperiments
{
    private readonly ExperimentBook _book;
    private readonly TimeProvider _time;

    internal LlmExperiments(ExperimentBook book, TimeProvider time) => (_book, _time) = (book, time);

    /// <summary>The experiments' names.</summary>
    public IReadOnlyList<string> Names => [.. _book.All.Select(e => e.Name).Order(StringComparer.Ordinal)];

    /// <summary>Whether <paramref name="name"/> runs now: its calls are split between its arms.</summary>
    public bool IsRunning(string name) => Find(name).IsRunning(_time.GetUtcNow());

    /// <summary>Runs <paramref name="name"/> from now on, whatever its settings' schedule.</summary>
    public void Start(string name) => Find(name).Switch(running: true);

    /// <summary>Stops <paramref name="name"/>: its control arm serves its calls, which are no longer recorded as part of it.</summary>
    public void Stop(string name) => Find(name).Switch(running: false);

    private ExperimentSplit Find(string name) =>
        _book.All.FirstOrDefault(e => e.Name == name) ?? throw new ArgumentException($"There is no experiment '{name}'.", nameof(name));
}
