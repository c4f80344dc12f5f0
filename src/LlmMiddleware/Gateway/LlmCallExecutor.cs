using LlmMiddleware.Caching;
using LlmMiddleware.Caching.Semantic;
using LlmMiddleware.Metering;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Gateway;

/// <summary>
/// Runs one LLM call end to end: reads and parses the caller's body, resolves the provider, runs the host's hooks,
/// writes the provider request (or forwards the caller's bytes in passthrough), sends it and relays the response.
/// </summary>
internal sealed partial class LlmCallExecutor
{
    private readonly LlmProviderRegistry _registry;
    private readonly LlmRouter _router;
    private readonly bool _requestsMayChange;
    private readonly LlmGatewayOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LlmCallExecutor> _logger;
    private readonly RemoteImageInliner _images;
    private readonly LlmGatewayTelemetry _telemetry;
    private readonly LlmMeter _meter;
    private readonly LlmResponseCache _cache;
    private readonly Pipeline.LlmCallPipeline _pipeline;
    private readonly MeteringStage _metering;
    private readonly Pipeline.HooksStage _hooksStage;
    private readonly LlmCallDelegate _sendPrepared;

    public LlmCallExecutor(LlmProviderRegistry registry, LlmRouter router, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, RemoteImageInliner images, LlmGatewayTelemetry telemetry, LlmMeter meter, LlmResponseCache cache, Pipeline.LlmCallPipeline pipeline, MeteringStage metering, Pipeline.HooksStage hooksStage, ILogger<LlmCallExecutor> logger)
    {
        _telemetry = telemetry;
        _meter = meter;
        _cache = cache;
        _pipeline = pipeline;
        _metering = metering;
        _hooksStage = hooksStage;
        _sendPrepared = SendPreparedAsync;
        telemetry.ObserveDeployments(() => router.Deployments, timeProvider);
        _registry = registry;
        _router = router;
        _images = images;

        // A stage or hook that may edit the request rules out forwarding the caller's bytes as they are (YARP routes run
        // the hooks themselves, for now).
        _requestsMayChange = pipeline.EditsRequests || hooksStage.EditsRequest;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public LlmProviderRegistry Registry => _registry;

    /// <summary>The tokenizers the gateway counts with.</summary>
    public Metering.LlmTokenizers Tokenizers => _meter.Tokenizers;

    public LlmGatewayOptions Options => _options;

    public TimeProvider TimeProvider => _timeProvider;

    public LlmResponseCache Cache => _cache;

    public Task HandleChatAsync(HttpContext http, LlmProtocol inbound) => RunAsync(http, inbound, LlmOperationNames.Chat, async (context, aborted) =>
    {
        using var call = await PrepareAsync(context, ResolveAsync, aborted).ConfigureAwait(false);
        context.UpstreamState = call;
        await InvokePipelineAsync(context, _sendPrepared, aborted).ConfigureAwait(false);
    });

    /// <summary>Runs the host's stages around <paramref name="upstream"/>, the call's last step.</summary>
    public ValueTask InvokePipelineAsync(LlmRequestContext context, LlmCallDelegate upstream, CancellationToken aborted)
    {
        context.Upstream = upstream;
        return _pipeline.InvokeAsync(context, aborted);
    }

    /// <summary>The chat pipeline's last step: the router's, writing the upstream body and sending it.</summary>
    private async ValueTask SendPreparedAsync(LlmRequestContext context, CancellationToken aborted)
    {
        var call = (PreparedCall)context.UpstreamState!;
        await RetargetAsync(context, call, call.Route, aborted).ConfigureAwait(false);
        await SendAsync(context, call, aborted).ConfigureAwait(false);
    }

    /// <summary>A model group is routed by its strategy and the routing hooks; any other name is an alias or <c>provider/model</c>.</summary>
    private async ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)> ResolveAsync(LlmRequestContext context, CancellationToken cancellationToken)
    {
        var model = context.Request.Model;
        if (!_router.IsGroup(model))
        {
            var (provider, upstreamModel) = _registry.Resolve(model);
            return (new LlmRoute(provider, upstreamModel), null);
        }

        var candidates = await _router.RouteAsync(model, context, cancellationToken).ConfigureAwait(false);
        if (_meter.Options.UnpricedModels == LlmUnpricedModelPolicy.Block)
        {
            // Unpriced deployments are never tried; if none is priced the first one's refusal explains why.
            var priced = candidates.FindAll(d => d.Info?.PricingAt(context.StartedAt) is not null);
            candidates = priced.Count > 0 ? priced : candidates.GetRange(0, 1);
        }

        var first = candidates[0];
        return (new LlmRoute(first.Endpoint, first.Model, first), candidates);
    }

    /// <summary>
    /// Frames one call: its context (set as a feature), span and cost headers; <paramref name="work"/> prepares it and
    /// runs the pipeline; a failure before the pipeline is answered in the caller's protocol; and once it is over,
    /// the call is recorded if it never reached the metering stage, and the completion callbacks run.
    /// </summary>
    public async Task RunAsync(HttpContext http, LlmProtocol inbound, string operation, Func<LlmRequestContext, CancellationToken, Task> work)
    {
        var context = new LlmRequestContext(http, inbound, operation, _timeProvider) { Caller = http.Features.Get<LlmCallerFeature>()?.Caller };
        http.Features.Set<ILlmRequestFeature>(new LlmRequestFeature(context));
        RegisterCostHeaders(context);
        var aborted = http.RequestAborted;
        var activity = LlmGatewayTelemetry.StartCall(context);
        try
        {
            await work(context, aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not LlmStreamAbortedException)
        {
            await Pipeline.LlmCallPipeline.AnswerAsync(context, ex, _options, _logger, aborted).ConfigureAwait(false);
        }
        finally
        {
            await CompleteAsync(context, _pipeline.Meters, activity).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads and parses the caller's body and resolves its route (a model group's candidates in order). The caller's
    /// body is the returned call's to dispose.
    /// </summary>
    private async ValueTask<PreparedCall> PrepareAsync(LlmRequestContext context, Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> resolve, CancellationToken cancellationToken)
    {
        var callerBody = await RequestBody.ReadAsync(context.HttpContext.Request, _options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            context.Request = RequestReader.Read(context.InboundProtocol, callerBody.WrittenMemory);
            context.RequestedModel = context.Request.Model;
            var (route, candidates) = await resolve(context, cancellationToken).ConfigureAwait(false);
            SetRoute(context, route);
            return new PreparedCall(callerBody, route, candidates);
        }
        catch
        {
            callerBody.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A YARP route's call (which does not run the pipeline yet): <see cref="PrepareAsync"/>, what the hooks and
    /// response cache stages do before the router (their completion runs in <see cref="CompleteAsync"/>), an
    /// answer from the response cache under <paramref name="cachePolicy"/> when it can (then <see langword="null"/>:
    /// the response is written), and otherwise the upstream body.
    /// </summary>
    public async ValueTask<PreparedCall?> PrepareCallAsync(LlmRequestContext context, Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> resolve, ResolvedCachePolicy? cachePolicy, CancellationToken cancellationToken)
    {
        var call = await PrepareAsync(context, resolve, cancellationToken).ConfigureAwait(false);
        try
        {
            await _hooksStage.BeforeAsync(context, cancellationToken).ConfigureAwait(false);

            // Looked up before the upstream body is written (and remote images fetched): a hit needs neither.
            if (await ResponseCacheStage.TryServeAsync(_cache, context, cachePolicy, cancellationToken).ConfigureAwait(false))
            {
                call.Dispose();
                return null;
            }

            await RetargetAsync(context, call, call.Route, cancellationToken).ConfigureAwait(false);
            return call;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    /// <summary>Adds the cost headers to a non-streamed response just before its headers are sent.</summary>
    public void RegisterCostHeaders(LlmRequestContext context)
    {
        if (_meter.Options.EmitCostHeaders)
        {
            context.HttpContext.Response.OnStarting(
                static state =>
                {
                    var (meter, context) = ((LlmMeter, LlmRequestContext))state;
                    meter.WriteCostHeaders(context);
                    return Task.CompletedTask;
                },
                (_meter, context));
        }
    }

    private void SetRoute(LlmRequestContext context, LlmRoute route)
    {
        route.Provider.EnsureUsable();
        _meter.EnsurePriced(context, route.Provider, route.Model);
        context.Deployment = route.Deployment;
        context.ProviderName = route.Provider.Name;
        context.ProviderProtocol = route.Provider.Protocol;
        context.UpstreamModel = route.Model;
    }

    /// <summary>Points the call at <paramref name="route"/> and writes its upstream body.</summary>
    private async ValueTask RetargetAsync(LlmRequestContext context, PreparedCall call, LlmRoute route, CancellationToken cancellationToken)
    {
        SetRoute(context, route);
        await InlineImagesIfNeededAsync(context, route, cancellationToken).ConfigureAwait(false);
        var body = call.Retarget(route);
        context.IsPassthrough = WriteBody(context, route, call.CallerBody, body, call.Translation);
    }

    private ValueTask InlineImagesIfNeededAsync(LlmRequestContext context, LlmRoute route, CancellationToken cancellationToken) =>
        route.Provider.Protocol == LlmProtocol.Gemini && RemoteImageInliner.HasRemoteImages(context.Request)
            ? _images.InlineAsync(context.Request, cancellationToken) // Gemini takes inline images only.
            : ValueTask.CompletedTask;

    /// <summary>Writes the upstream body for <paramref name="route"/>: the caller's bytes with the model rewritten in
    /// passthrough, a translated request otherwise. Returns whether it was passed through.</summary>
    private bool WriteBody(LlmRequestContext context, LlmRoute route, ReadOnlyMemory<byte> callerBody, PooledBufferWriter body, TranslationState translation)
    {
        var passthrough = !_requestsMayChange && route.Provider.CanPassThrough(context.InboundProtocol);
        if (!passthrough && context.Request.N is > 1)
        {
            // Translation carries one choice; several choices reach only a provider of the caller's own protocol.
            throw Json.Invalid("'n' greater than 1 is supported only when the provider speaks the caller's protocol.", "n");
        }

        if (passthrough)
        {
            context.StreamUsageRequested = RequestsStreamUsage(context, route.Provider);
            JsonModelRewriter.Rewrite(callerBody.Span, route.Model, body, context.StreamUsageRequested);
        }
        else
        {
            WriteProviderRequest(context.Request, route.Provider, route.Model, _options.DefaultMaxTokens, translation, body);
        }

        return passthrough;
    }

    /// <summary>
    /// Whether a passthrough OpenAI stream must be made to report usage: metering needs it, and the relay then hides
    /// the usage chunk from the caller who did not ask for it.
    /// </summary>
    private static bool RequestsStreamUsage(LlmRequestContext context, LlmProviderEndpoint provider) =>
        context.Request is { Stream: true, StreamIncludeUsage: false } && provider.Protocol == LlmProtocol.OpenAIChat &&
        !provider.Dialect.HasFlag(OpenAIDialect.NoStreamOptions);

    /// <summary>
    /// Sends the call and relays the response. For a model group, a deployment that fails before the response has
    /// begun (after its own retries, or skipped while cooling down) hands over to the next candidate; every attempt is
    /// recorded on the context.
    /// </summary>
    private async Task SendAsync(LlmRequestContext context, PreparedCall call, CancellationToken aborted)
    {
        using var timeout = new TimeLimit(aborted, _options.UpstreamTimeout, _timeProvider);
        var candidates = call.Candidates;
        var start = 0;
        if (candidates is { Count: > 1 } && _router.RaceFor(candidates[0].Group) is { Attempts: > 1, Pipeline: not null } race)
        {
            // Racing: the first deployments run at once (or staggered); the winner is relayed, and if every leg fails the
            // remaining candidates are tried one by one as usual.
            start = Math.Min(race.Attempts, candidates.Count);
            if (await RaceAsync(context, call, candidates, race, start, timeout.Token, aborted).ConfigureAwait(false))
            {
                return;
            }

            await RetargetAsync(context, call, new LlmRoute(candidates[start].Endpoint, candidates[start].Model, candidates[start]), aborted).ConfigureAwait(false);
        }

        for (var index = start; ; index++)
        {
            var provider = call.Provider;
            var deployment = call.Route.Deployment;
            var last = candidates is null || index >= candidates.Count - 1;
            var started = _timeProvider.GetTimestamp();
            HttpResponseMessage? response = null;
            LlmGatewayException? failure = null;
            var entered = deployment?.TryEnter() ?? true;
            using var firstToken = new TimeLimit(timeout.Token, _options.FirstTokenTimeout ?? Timeout.InfiniteTimeSpan, _timeProvider);

            try
            {
                response = entered
                    ? await SendOnceAsync(context, call, firstToken.Token, aborted).ConfigureAwait(false)
                    : throw AtLimit(deployment!);
                if (_options.FirstTokenTimeout is not null && context.Request.Stream && (int)response.StatusCode < 400)
                {
                    // Stream headers come at once; the first-token limit is on the first content, which is still before
                    // anything reaches the caller, so a stalled stream can still fall back.
                    await StreamPrefetch.UntilFirstContentAsync(response, provider.Protocol, firstToken.Token).ConfigureAwait(false);
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
                if (entered)
                {
                    deployment?.Leave();
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
            context.RecordAttempt(attempt);
            _telemetry.RecordAttempt(attempt, handOver);
            if (handOver)
            {
                response?.Dispose();
                await RetargetAsync(context, call, new LlmRoute(candidates![index + 1].Endpoint, candidates[index + 1].Model, candidates[index + 1]), aborted).ConfigureAwait(false);
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
                    await ResponseRelay.RelayAsync(context, response!, provider.Protocol, call.Translation, _options, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested && !context.HttpContext.Response.HasStarted)
                {
                    throw TimedOut(provider);
                }
            }

            if (context.Error is null)
            {
                deployment?.Record(context.TimeToFirstToken, _timeProvider.GetElapsedTime(started));
            }

            return;
        }
    }

    /// <summary>
    /// Races the first <paramref name="legCount"/> candidates through the group's Polly hedging pipeline. Returns
    /// <see langword="true"/> when the response has been produced (a winner relayed, or the last failure when no candidate
    /// is left), <see langword="false"/> when every leg failed and later candidates remain.
    /// </summary>
    private async Task<bool> RaceAsync(LlmRequestContext context, PreparedCall call, List<LlmDeployment> candidates, RacePlan plan, int legCount, CancellationToken timeout, CancellationToken aborted)
    {
        context.Raced = true;
        var needs = context.RoutingNeeds ?? Routing.RequestNeeds.From(context.Request, context.InboundProtocol);
        var legs = new List<RaceLeg>(legCount);
        try
        {
            for (var i = 0; i < legCount; i++)
            {
                var route = new LlmRoute(candidates[i].Endpoint, candidates[i].Model, candidates[i]);
                route.Provider.EnsureUsable();
                _meter.EnsurePriced(context, route.Provider, route.Model);
                await InlineImagesIfNeededAsync(context, route, aborted).ConfigureAwait(false);
                var leg = new RaceLeg(route, lost => RecordLoser(context, lost, needs));
                legs.Add(leg);
                leg.Passthrough = WriteBody(context, route, call.CallerBody, leg.Body, leg.Translation);
            }

            var primary = candidates[0];
            var run = new RaceRun(legs, plan.Delay ?? primary.TimeToFirstTokenP95 ?? TimeSpan.Zero, (leg, token) => RunLegAsync(context, leg, token, aborted));
            var resilience = Polly.ResilienceContextPool.Shared.Get(timeout);
            resilience.Properties.Set(RacePlan.RunKey, run);
            Polly.Outcome<RaceLeg> outcome;
            try
            {
                outcome = await plan.Pipeline!.ExecuteOutcomeAsync(static (context, run) => run.RunLeg(run.Legs[0], context.CancellationToken), resilience, run).ConfigureAwait(false);
            }
            finally
            {
                Polly.ResilienceContextPool.Shared.Return(resilience);
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
            SetRoute(context, result.Route);
            context.IsPassthrough = result.Passthrough;
            context.StreamUsageRequested = result.Passthrough && RequestsStreamUsage(context, result.Route.Provider);
            var attempt = new LlmAttempt(result.Route.Deployment!.Name, result.Route.Provider.Name, result.Route.Model, (int?)result.Response?.StatusCode ?? result.Failure?.Error.Status,
                result.Failed ? LlmAttemptOutcome.Failed : LlmAttemptOutcome.Succeeded, _timeProvider.GetElapsedTime(result.Started));
            context.RecordAttempt(attempt);
            _telemetry.RecordAttempt(attempt, handedOver: result.Failed && legCount < candidates.Count);
            if (result.Failed && legCount < candidates.Count)
            {
                return false;
            }

            if (result.Response is not { } response)
            {
                throw result.Failure!;
            }

            try
            {
                await ResponseRelay.RelayAsync(context, response, result.Route.Provider.Protocol, result.Translation, _options, timeout).ConfigureAwait(false);
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

    private async ValueTask<Polly.Outcome<RaceLeg>> RunLegAsync(LlmRequestContext context, RaceLeg leg, CancellationToken token, CancellationToken aborted)
    {
        var provider = leg.Route.Provider;
        var deployment = leg.Route.Deployment!;
        leg.Started = _timeProvider.GetTimestamp();
        if (!deployment.TryEnter())
        {
            leg.Failure = AtLimit(deployment);
            return Polly.Outcome.FromResult(leg);
        }

        try
        {
            using var request = provider.CreateRequest(provider.ChatPath(leg.Route.Model, context.Request.Stream), leg.Body.WrittenMemory, context.Request.Stream);
            if (leg.Passthrough && context.InboundProtocol == LlmProtocol.AnthropicMessages)
            {
                ForwardAnthropicHeaders(context.HttpContext.Request, request);
            }

            leg.Response = await provider.Invoker.SendAsync(request, token).ConfigureAwait(false);
            if (!leg.Failed && context.Request.Stream && !await leg.PrefetchFirstContentAsync(provider.Protocol, token).ConfigureAwait(false))
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
            deployment.Leave();
        }

        return Polly.Outcome.FromResult(leg);
    }

    /// <summary>A race loser: recorded with what it was billed for (the prompt, and the output it had streamed, counted).</summary>
    private void RecordLoser(LlmRequestContext context, RaceLeg leg, Routing.RequestNeeds needs)
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
            new LlmUsage { InputTokens = needs.InputTokens, OutputTokens = Tokenizers.For(leg.Route.Provider.Name, leg.Route.Model).Count(leg.PrefetchedContent) });
        context.RecordAttempt(attempt);
        _telemetry.RecordAttempt(attempt, handedOver: false);
        if (attempt.Outcome == LlmAttemptOutcome.Cancelled)
        {
            _meter.CompleteLoser(context, attempt);
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(LlmRequestContext context, PreparedCall call, CancellationToken timeout, CancellationToken aborted)
    {
        var provider = call.Provider;
        HttpRequestMessage CreateRequest()
        {
            var request = provider.CreateRequest(provider.ChatPath(call.Model, context.Request.Stream), call.UpstreamBody, context.Request.Stream);
            if (context.IsPassthrough && context.InboundProtocol == LlmProtocol.AnthropicMessages)
            {
                ForwardAnthropicHeaders(context.HttpContext.Request, request);
            }

            return request;
        }

        if (call.Route.Deployment is not { } deployment)
        {
            using var request = CreateRequest();
            return await SendUpstreamAsync(provider, request, timeout, aborted).ConfigureAwait(false);
        }

        // Each retry sends a fresh request message; connection failures count for the cooldown before becoming a 502.
        return await deployment.Pipeline.ExecuteAsync(
            async token =>
            {
                using var request = CreateRequest();
                try
                {
                    return await provider.Invoker.SendAsync(request, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    throw TimedOut(provider);
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

    /// <summary>Sends a provider request; an unreachable provider is a 502 and a provider that does not answer in time
    /// (<paramref name="cancellationToken"/> fired while <paramref name="aborted"/> did not) a 504, in the caller's protocol.</summary>
    public async Task<HttpResponseMessage> SendUpstreamAsync(LlmProviderEndpoint provider, HttpRequestMessage request, CancellationToken cancellationToken, CancellationToken aborted)
    {
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

    private static LlmGatewayException Unreachable(LlmProviderEndpoint provider) => new(UnreachableError(provider.Name));

    /// <summary>The error of a provider that could not be reached; also used when YARP could not reach it.</summary>
    internal static LlmError UnreachableError(string? provider) =>
        new(LlmErrorKind.Server, $"Could not reach provider '{provider}'.", 502) { Code = LlmErrorCodes.UpstreamUnreachable };

    private static LlmGatewayException AtLimit(LlmDeployment deployment) =>
        new(new LlmError(LlmErrorKind.RateLimit, $"Deployment '{deployment.Name}' is at its request limit.") { Code = LlmErrorCodes.DeploymentLimit });

    private static LlmGatewayException TimedOut(LlmProviderEndpoint provider) =>
        new(new LlmError(LlmErrorKind.Timeout, $"Provider '{provider.Name}' did not answer in time."));

    /// <summary>Writes the provider-protocol request for <paramref name="request"/>.</summary>
    public static void WriteProviderRequest(LlmRequest request, LlmProviderEndpoint provider, string model, int defaultMaxTokens, TranslationState state, PooledBufferWriter output)
    {
        switch (provider.Protocol)
        {
            case LlmProtocol.AnthropicMessages:
                AnthropicRequestWriter.Write(request, model, defaultMaxTokens, state, output);
                break;
            case LlmProtocol.Gemini:
                GeminiRequestWriter.Write(request, output);
                break;
            default:
                OpenAIRequestWriter.Write(request, model, provider.Dialect, state, output);
                break;
        }
    }

    /// <summary>An Anthropic caller talking to Anthropic keeps its API version and beta flags.</summary>
    private static void ForwardAnthropicHeaders(HttpRequest caller, HttpRequestMessage upstream)
    {
        foreach (var name in (ReadOnlySpan<string>)["anthropic-version", "anthropic-beta"])
        {
            if (caller.Headers.TryGetValue(name, out var value))
            {
                upstream.Headers.Remove(name);
                upstream.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
            }
        }
    }

    /// <summary>
    /// Ends a call once it is over: records it if it never reached the metering stage (and <paramref name="record"/>),
    /// closes its span and runs its completion callbacks (the cache's store, the hooks' <c>OnCompletedAsync</c>).
    /// </summary>
    public async ValueTask CompleteAsync(LlmRequestContext context, bool record, System.Diagnostics.Activity? activity = null)
    {
        context.MarkEnd();
        if (record)
        {
            _metering.Record(context); // once: a call refused before the pipeline (unreadable, unknown model) is recorded too
        }

        context.Delivered.Dispose();
        _telemetry.RecordCall(context, activity);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogCompletion(context);
        }

        await context.RunCompletedAsync(ex => Log.CompletionFailed(_logger, ex)).ConfigureAwait(false);
    }

    private void LogCompletion(LlmRequestContext context) => Log.CallCompleted(
        _logger,
        context.OperationName,
        context.RequestedModel,
        context.ProviderName,
        context.UpstreamModel,
        context.IsPassthrough ? "passthrough" : "translated",
        context.UpstreamStatusCode,
        context.Error?.Kind,
        context.ClientDisconnected,
        context.Duration?.TotalMilliseconds);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not reach LLM provider {Provider}.", EventName = "UpstreamUnreachable")]
        public static partial void UpstreamUnreachable(ILogger logger, string provider, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "An LLM call's completion callback failed.", EventName = "CompletionFailed")]
        public static partial void CompletionFailed(ILogger logger, Exception exception);


        [LoggerMessage(4, LogLevel.Debug, "LLM {Operation} call for {Model} via {Provider}/{UpstreamModel} ({Mode}) ended: upstream status {Status}, error {Error}, client disconnected {Disconnected}, {DurationMs} ms.", EventName = "CallCompleted")]
        public static partial void CallCompleted(ILogger logger, string operation, string model, string? provider, string? upstreamModel, string mode, int? status, LlmErrorKind? error, bool disconnected, double? durationMs);
    }
}
