using System.Runtime.CompilerServices;

namespace LlmMiddleware.Experiments.Judging;

/// <summary>Verdicts in this instance's memory: the last 100,000, the oldest dropped first.</summary>
internal sealed class InMemoryJudgementStore : ILlmJudgementStore
{
    private const int Capacity = 100_000;
    private readonly Queue<LlmJudgement> _judgements = new();

    public ValueTask AddAsync(LlmJudgement judgement, CancellationToken cancellationToken)
    {
        lock (_judgements)
        {
            if (_judgements.Count == Capacity)
            {
                _judgements.Dequeue();
            }

            _judgements.Enqueue(judgement);
        }

        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<LlmJudgement> ListAsync(string experiment, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        LlmJudgement[] judgements;
        lock (_judgements)
        {
            judgements = [.. _judgements.Where(j => j.Experiment == experiment)];
        }

        foreach (var judgement in judgements)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return judgement;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
