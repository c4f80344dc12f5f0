using LlmMiddleware.Experiments;
using LlmMiddleware.Experiments.Reports;

namespace LlmMiddleware;

/// <summary>The experiments (<c>AddExperiments()</c>): which run, and starting or stopping one at run time on this instance.</summary>
public sealed class LlmExperiments
{
    private readonly ExperimentBook _book;
    private readonly ExperimentReporter _reports;
    private readonly TimeProvider _time;

    internal LlmExperiments(ExperimentBook book, ExperimentReporter reports, TimeProvider time) => (_book, _reports, _time) = (book, reports, time);

    /// <summary>The experiments' names.</summary>
    public IReadOnlyList<string> Names => [.. _book.All.Select(e => e.Name).Order(StringComparer.Ordinal)];

    /// <summary>Whether <paramref name="name"/> runs now: its calls are split between its arms.</summary>
    public bool IsRunning(string name) => Find(name).IsRunning(_time.GetUtcNow());

    /// <summary>Runs <paramref name="name"/> from now on, whatever its settings' schedule.</summary>
    public void Start(string name) => Find(name).Switch(running: true);

    /// <summary>Stops <paramref name="name"/>: its control arm serves its calls, which are no longer recorded as part of it.</summary>
    public void Stop(string name) => Find(name).Switch(running: false);

    /// <summary>How <paramref name="name"/>'s arms fared per task — calls, errors, cost, latency, the judge's scores with
    /// their 95 % confidence intervals — and the arm that fits each task: from this instance's calls and the verdicts
    /// in the judgement store.</summary>
    public ValueTask<LlmExperimentReport> ReportAsync(string name, CancellationToken cancellationToken = default) =>
        _reports.ReportAsync(Find(name).Name, cancellationToken);

    private ExperimentSplit Find(string name) =>
        _book.All.FirstOrDefault(e => e.Name == name) ?? throw new ArgumentException($"There is no experiment '{name}'.", nameof(name));
}
