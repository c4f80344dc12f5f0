using System.Collections.Concurrent;
using LlmMiddleware.Gateway;
using LlmMiddleware.Metering;
using LlmMiddleware.Protocols;
using LlmMiddleware.Routing;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Upstream;
using Microsoft.Extensions.Options;
using Polly;
using static LlmMiddleware.Upstream.UpstreamErrors;

namespace LlmMiddleware.Racing;

/// <summary>
/// Runs a model group's race: the first candidates through the group's Polly hedging pipeline, each leg with its own
/// upstream body, the winner the first to produce content; losers are cancelled upstream and metered for what they
/// were billed.
/// </summary>
internal sealed class RaceRunner(CallPreparation preparation, LlmMeter meter, LlmGatewayTelemetry telemetry, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider)
{
    private readonly LlmGatewayOptions _options = options.Value;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly ConcurrentDictionary<int, ResiliencePipeline<RaceLeg>> _pipelines = new(); // by leg count: a pipeline holds no race's state

    /// <summary>
    /// Races the first <paramref name="legCount"/> candidates through the group's Polly hedging pipeline. Returns
    /// <see langword="true"/> when the response has been produced (a winner relayed, or the last failure when no candidate
    /// is left), <see langword="false"/> when every leg failed and later candidates remain.
    /// </summary>
    public async Task<bool> RaceAsync(LlmRequestContext context, PreparedCall call, List<LlmDeployment> candidates, LlmRaceOptions race, int legCount, CancellationToken timeout, CancellationToken aborted)
    {
        context.Raced = true;
        var promptTokens = Routing.RequestNeeds.For(context).InputTokens;
        var legs = new List<RaceLeg>(legCount);
        try
        {
            for (var i = 0; i < legCount; i++)
            {
                var route = new LlmRoute(candidates[i].Endpoint, candidates[i].Model, candidates[i]);
                route.Provider.EnsureUsable();
                meter.EnsurePriced(context, route.Provider, route.Model);
                await preparation.InlineImagesIfNeededAsync(context, route, aborted).ConfigureAwait(false);
                var leg = new RaceLeg(route, lost => RecordLoser(context, lost, promptTokens));
                legs.Add(leg);
                leg.Passthrough = preparation.WriteBody(context, route, call.CallerBody, leg.Body, leg.Translation);
            }

            var primary = candidates[0];
            var run = new RaceRun(legs, race.Delay ?? primary.TimeToFirstTokenP95 ?? TimeSpan.Zero, (leg, token) => RunLegAsync(context, leg, token, aborted));
            var resilience = ResilienceContextPool.Shared.Get(timeout);
            resilience.Properties.Set(RacePlan.RunKey, run);
            Outcome<RaceLeg> outcome;
            try
            {
                outcome = await _pipelines.GetOrAdd(race.Attempts, static (attempts, time) => RacePlan.Build(attempts, time), _timeProvider).ExecuteOutcomeAsync(static (context, run) => run.RunLeg(run.Legs[0], context.CancellationToken), resilience, run).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(resilience);
            }

            var result = outcome.Result;
            if (result is null)
            {
                // Every leg ended in an unexpected fault.
                return legCount < candidates.Count
                    ? false
                    : throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, "Every deployment in the race failed.", 502) { Code = LlmErrorCodes.RaceFailed });
            }

            result.MarkWon();
            preparation.SetRoute(context, result.Route);
            context.IsPassthrough = result.Passthrough;
            context.StreamUsageRequested = result.Passthrough && CallPreparation.RequestsStreamUsage(context, result.Route.Provider);
            var attempt = new LlmAttempt(result.Route.Deployment!.Name, result.Route.Provider.Name, result.Route.Model, (int?)result.Response?.StatusCode ?? result.Failure?.Error.Status,
                result.Failed ? LlmAttemptOutcome.Failed : LlmAttemptOutcome.Succeeded, _timeProvider.GetElapsedTime(result.Started));
            var handedOver = result.Failed && legCount < candidates.Count;
            context.RecordAttempt(attempt, handedOver);
            telemetry.RecordAttempt(attempt, handedOver);
            if (handedOver)
            {
                return false;
            }

            if (result.Response is not { } response)
            {
                throw result.Failure!;
            }

            try
            {
                await ResponseRelay.RelayAsync(context, response, result.Route.Provider.CodecFor(context.InboundProtocol, result.Passthrough), result.Translation, _options, timeout).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested && !context.HttpContext.Response.HasStarted)
            {
                throw TimedOut(result.Route.Provider);
            }

            if (context.Error is null)
            {
                result.Route.Deployment.Record(context.TimeToFirstToken, _timeProvider.GetElapsedTime(result.Started));
            }

            return true;
        }
        finally
        {
            foreach (var leg in legs)
            {
                // Launched losers were disposed by the hedging strategy; disposing again only frees what is left.
                if (leg.Started == 0)
                {
                    leg.MarkWon();
                }

                leg.Dispose();
            }
        }
    }

    private async ValueTask<Outcome<RaceLeg>> RunLegAsync(LlmRequestContext context, RaceLeg leg, CancellationToken token, CancellationToken aborted)
    {
        var provider = leg.Route.Provider;
        var deployment = leg.Route.Deployment!;
        leg.Started = _timeProvider.GetTimestamp();
        if (await deployment.TryEnterAsync().ConfigureAwait(false) is not { } lease)
        {
            leg.Failure = AtLimit(deployment);
            return Outcome.FromResult(leg);
        }

        try
        {
            using var request = UpstreamRequest.Create(context, provider, leg.Route.Model, leg.Body.WrittenMemory, leg.Passthrough);

            leg.Response = await provider.Invoker.SendAsync(request, token).ConfigureAwait(false);
            if (!leg.Failed && context.Request.Stream && !await leg.PrefetchFirstContentAsync(provider.CodecFor(context.InboundProtocol, leg.Passthrough), token).ConfigureAwait(false))
            {
                leg.Failure = new LlmGatewayException(LlmStreamReader.StreamBroken($"Deployment '{deployment.Name}' ended its stream before any content."));
            }
        }
        catch (HttpRequestException)
        {
            leg.Failure = Unreachable(provider);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            leg.Cancelled = token.IsCancellationRequested;
            leg.Failure = TimedOut(provider);
        }
        catch (IOException)
        {
            leg.Failure = new LlmGatewayException(LlmStreamReader.StreamBroken($"Deployment '{deployment.Name}' broke its stream before any content."));
        }
        finally
        {
            deployment.Leave(lease);
        }

        return Outcome.FromResult(leg);
    }

    /// <summary>A race loser: recorded with what it was billed for (the prompt, and the output it had streamed, counted).</summary>
    private void RecordLoser(LlmRequestContext context, RaceLeg leg, long promptTokens)
    {
        if (leg.Started == 0)
        {
            return;
        }

        var attempt = new LlmAttempt(
            leg.Route.Deployment!.Name,
            leg.Route.Provider.Name,
            leg.Route.Model,
            (int?)leg.Response?.StatusCode ?? leg.Failure?.Error.Status,
            leg.Cancelled || !leg.Failed ? LlmAttemptOutcome.Cancelled : LlmAttemptOutcome.Failed,
            _timeProvider.GetElapsedTime(leg.Started),
            new LlmUsage { InputTokens = promptTokens, OutputTokens = meter.Tokenizers.For(leg.Route.Provider.Name, leg.Route.Model).Count(leg.PrefetchedContent) });
        context.RecordAttempt(attempt, handedOver: false);
        telemetry.RecordAttempt(attempt, handedOver: false);
        if (attempt.Outcome == LlmAttemptOutcome.Cancelled)
        {
            meter.CompleteLoser(context, attempt);
        }
    }
}
