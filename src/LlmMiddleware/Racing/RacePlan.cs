using Polly;
using Polly.Hedging;

namespace LlmMiddleware.Racing;

/// <summary>The Polly hedging pipeline that runs races of a given number of legs; the legs come with each race.</summary>
internal static class RacePlan
{
    /// <summary>The per-request race (its legs, delay and how to run a leg), handed to the shared pipeline.</summary>
    public static readonly ResiliencePropertyKey<RaceRun> RunKey = new("llm.race");

    public static ResiliencePipeline<RaceLeg> Build(int attempts, TimeProvider timeProvider) =>
        new ResiliencePipelineBuilder<RaceLeg> { TimeProvider = timeProvider }
            .AddHedging(new HedgingStrategyOptions<RaceLeg>
            {
                MaxHedgedAttempts = attempts - 1,

                // A failed leg launches the next one at once; a slow one after the delay.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null || args.Outcome.Result is { Failed: true }),
                DelayGenerator = args => ValueTask.FromResult(args.Context.Properties.TryGetValue(RunKey, out var run) ? run.Delay : TimeSpan.Zero),
                ActionGenerator = args =>
                {
                    if (!args.PrimaryContext.Properties.TryGetValue(RunKey, out var run) || args.AttemptNumber >= run.Legs.Count)
                    {
                        return null;
                    }

                    var leg = run.Legs[args.AttemptNumber];
                    return () => run.RunLeg(leg, args.ActionContext.CancellationToken);
                },
            })
            .Build();
}

/// <summary>One request's race.</summary>
internal sealed record RaceRun(List<RaceLeg> Legs, TimeSpan Delay, Func<RaceLeg, CancellationToken, ValueTask<Outcome<RaceLeg>>> RunLeg);
