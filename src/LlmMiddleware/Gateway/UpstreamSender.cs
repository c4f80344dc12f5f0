using LlmMiddleware.Deployments;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Racing;
using LlmMiddleware.Routing;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static LlmMiddleware.Upstream.UpstreamErrors;

namespace LlmMiddleware.Gateway;

/// <summary>
/// The router's upstream step, the end of the chat pipeline: sends the prepared call under the time limits, retries
/// and falls back through a model group's candidates (racing the first ones when the group races), and relays the
/// response. Every attempt is recorded on the context.
/// </summary>
internal sealed partial class UpstreamSender(LlmRouter router, CallPreparation preparation, RaceRunner races, LlmGatewayTelemetry telemetry, Metering.LlmTokenizers tokenizers, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, ILogger<UpstreamSender> logger)
{
    private readonly LlmGatewayOptions _options = options.Value;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly ILogger _logger = logger;

    /// <summary>
    /// Sends the call and relays the response. For a model group, a deployment that fails before the response has
    /// begun (after its own retries, or skipped while cooling down) hands over to the next candidate; every attempt is
    /// recorded on the context.
    /// </summary>
    public async Task SendAsync(LlmRequestContext context, PreparedCall call, CancellationToken aborted)
    {
        using var timeout = new TimeLimit(aborted, _options.UpstreamTimeout, _timeProvider);
        var candidates = call.Candidates;
        var start = 0;
        if (candidates is { Count: > 1 } && call.Embeddings is null && router.RaceFor(candidates[0].Group) is { Attempts: > 1 } race)
        {
            // Racing: the first deployments run at once (or staggered); the winner is relayed, and if every leg fails the
            // remaining candidates are tried one by one as usual.
            start = Math.Min(race.Attempts, candidates.Count);
            if (await races.RaceAsync(context, call, candidates, race, start, timeout.Token, aborted).ConfigureAwait(false))
            {
                return;
            }

            await preparation.RetargetAsync(context, call, new LlmRoute(candidates[start].Endpoint, candidates[start].Model, candidates[start]), aborted).ConfigureAwait(false);
        }

        for (var index = start; ; index++)
        {
            var provider = call.Provider;
            var deployment = call.Route.Deployment;
            var last = candidates is null || index >= candidates.Count - 1;
            var started = _timeProvider.GetTimestamp();
            HttpResponseMessage? response = null;
            LlmGatewayException? failure = null;
            var lease = deployment is null ? null : await deployment.TryEnterAsync().ConfigureAwait(false);
            var entered = deployment is null || lease is not null;
            using var firstTokenLimit = _options.FirstTokenTimeout is { } limit ? new TimeLimit(timeout.Token, limit, _timeProvider) : null;
            var firstToken = firstTokenLimit?.Token ?? timeout.Token;

            try
            {
                response = entered
                    ? await SendOnceAsync(context, call, firstToken, aborted).ConfigureAwait(false)
                    : throw AtLimit(deployment!);
                if (_options.FirstTokenTimeout is not null && context.Request.Stream && (int)response.StatusCode < 400)
                {
                    // Stream headers come at once; the first-token limit is on the first content, which is still before
                    // anything reaches the caller, so a stalled stream can still fall back.
                    await StreamPrefetch.UntilFirstContentAsync(response, provider.CodecFor(context.InboundProtocol, context.IsPassthrough), firstToken).ConfigureAwait(false);
                }
            }
            catch (LlmGatewayException ex)
            {
                failure = ex;
            }
            catch (HttpRequestException ex)
            {
                Log.UpstreamUnreachable(_logger, provider.Name, ex);
                failure = Unreachable(provider);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                // A time limit (first token, total) ran out while waiting for the provider or for a retry.
                failure = TimedOut(provider);
            }
            catch (Polly.CircuitBreaker.BrokenCircuitException)
            {
                failure = new LlmGatewayException(new LlmError(LlmErrorKind.Overloaded, $"Deployment '{deployment?.Name}' is cooling down after repeated failures.", 503) { Code = LlmErrorCodes.DeploymentCoolingDown });
            }
            finally
            {
                if (lease is not null)
                {
                    deployment!.Leave(lease);
                }
            }

            var handOver = !last && (failure is not null || await ShouldFallBackAsync(response!, aborted).ConfigureAwait(false));
            var attempt = new LlmAttempt(
                deployment?.Name ?? provider.Name,
                provider.Name,
                call.Model,
                failure?.Error.Status ?? (int?)response?.StatusCode,
                handOver || failure is not null || (int)response!.StatusCode is < 200 or >= 300 ? LlmAttemptOutcome.Failed : LlmAttemptOutcome.Succeeded,
                _timeProvider.GetElapsedTime(started));
            context.RecordAttempt(attempt, handOver);
            telemetry.RecordAttempt(attempt, handOver);
            if (handOver)
            {
                response?.Dispose();
                await preparation.RetargetAsync(context, call, new LlmRoute(candidates![index + 1].Endpoint, candidates[index + 1].Model, candidates[index + 1]), aborted).ConfigureAwait(false);
                continue;
            }

            if (failure is not null)
            {
                response?.Dispose();
                throw failure;
            }

            using (response)
            {
                try
                {
                    await (call.Embeddings is { } embeddings
                        ? EmbeddingsRelay.RelayAsync(context, response!, provider.Codec, embeddings, tokenizers, _options, timeout.Token)
                        : ResponseRelay.RelayAsync(context, response!, provider.CodecFor(context.InboundProtocol, context.IsPassthrough), call.Translation, _options, timeout.Token)).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested && !context.HttpContext.Response.HasStarted)
                {
                    throw TimedOut(provider);
                }
            }

            if (context.Error is null)
            {
                deployment?.Record(context.TimeToFirstToken, _timeProvider.GetElapsedTime(started), context.Usage.OutputTokens);
            }

            return;
        }
    }

    private ValueTask<HttpResponseMessage> SendOnceAsync(LlmRequestContext context, PreparedCall call, CancellationToken timeout, CancellationToken aborted) =>
        call.Route.Deployment is { } deployment
            ? SendThroughDeploymentAsync(deployment, context, call, timeout, aborted)
            : new(SendUpstreamAsync(call.Provider, CreateRequest(context, call), timeout, aborted, disposeRequest: true));

    private static HttpRequestMessage CreateRequest(LlmRequestContext context, PreparedCall call) => call.Embeddings is null
        ? UpstreamRequest.Create(context, call.Provider, call.Model, call.UpstreamBody, context.IsPassthrough)
        : call.Provider.CreateRequest(call.Provider.EmbeddingsPath(call.Model), call.UpstreamBody, stream: false);

    private async ValueTask<HttpResponseMessage> SendThroughDeploymentAsync(LlmDeployment deployment, LlmRequestContext context, PreparedCall call, CancellationToken timeout, CancellationToken aborted)
    {
        // Each retry sends a fresh request message; connection failures count for the cooldown before becoming a 502.
        var sends = 0;
        return await deployment.Pipeline.ExecuteAsync(
            async token =>
            {
                if (++sends > 1)
                {
                    context.RecordRetry();
                }

                using var request = CreateRequest(context, call);
                try
                {
                    return await call.Provider.Invoker.SendAsync(request, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    throw TimedOut(call.Provider);
                }
            },
            timeout).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether a group call should move on to the next deployment: overload, rate limits and server errors, and the
    /// two 400s a larger or more permissive model can fix (context window exceeded, content policy).
    /// </summary>
    private static async ValueTask<bool> ShouldFallBackAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (DeploymentResilience.IsTransient(response.StatusCode))
        {
            return true;
        }

        if (response.StatusCode != System.Net.HttpStatusCode.BadRequest)
        {
            return false;
        }

        // Buffered, so the body can still be relayed to the caller if it is not a reason to fall back.
        await response.Content.LoadIntoBufferAsync(64 * 1024, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return body.Contains("context length", StringComparison.OrdinalIgnoreCase) || body.Contains("context window", StringComparison.OrdinalIgnoreCase) ||
               body.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase) || body.Contains("too many tokens", StringComparison.OrdinalIgnoreCase) ||
               body.Contains("content_filter", StringComparison.OrdinalIgnoreCase) || body.Contains("content management policy", StringComparison.OrdinalIgnoreCase) ||
               body.Contains("content policy", StringComparison.OrdinalIgnoreCase) || body.Contains("SAFETY", StringComparison.Ordinal);
    }

    /// <summary>Sends a provider request (disposed after, with <paramref name="disposeRequest"/>); an unreachable provider is a 502 and a provider that does not answer in time
    /// (<paramref name="cancellationToken"/> fired while <paramref name="aborted"/> did not) a 504, in the caller's protocol.</summary>
    public async Task<HttpResponseMessage> SendUpstreamAsync(LlmProviderEndpoint provider, HttpRequestMessage request, CancellationToken cancellationToken, CancellationToken aborted, bool disposeRequest = false)
    {
        using var owned = disposeRequest ? request : null;
        try
        {
            return await provider.Invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            Log.UpstreamUnreachable(_logger, provider.Name, ex);
            throw Unreachable(provider);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw TimedOut(provider);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not reach LLM provider {Provider}.", EventName = "UpstreamUnreachable")]
        public static partial void UpstreamUnreachable(ILogger logger, string provider, Exception exception);
    }
}
