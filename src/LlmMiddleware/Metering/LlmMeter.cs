using System.Globalization;
using LlmMiddleware.Catalog;
using LlmMiddleware.Identity;
using LlmMiddleware.Providers;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Metering;

/// <summary>
/// Turns finished calls into <see cref="LlmCallRecord"/>s: settles the token counts (the provider's where it reported
/// them, the tokenizer's count of the prompt and of what was delivered where it did not), prices them at the price in
/// force when the call started, and hands the records to the in-memory totals, the sinks and the metrics. Never blocks:
/// sinks are fed through <see cref="LlmCallRecordDispatcher"/>.
/// </summary>
internal sealed class LlmMeter
{
    /// <summary>Response headers carrying a call's cost and tokens.</summary>
    public const string CostHeader = "x-llm-cost-usd";
    public const string InputTokensHeader = "x-llm-input-tokens";
    public const string OutputTokensHeader = "x-llm-output-tokens";
    public const string PriceVersionHeader = "x-llm-price-version";

    private readonly LlmModelCatalog _catalog;
    private readonly LlmMeteringOptions _options;
    private readonly LlmSpendAggregator _spend;
    private readonly LlmTrafficAggregator? _traffic;
    private readonly LlmCallRecordDispatcher _dispatcher;
    private readonly LlmUsageMetrics _metrics;
    private readonly LlmTokenizers _tokenizers;
    private readonly CallerIdentities _callers;

    public LlmMeter(LlmModelCatalog catalog, IOptions<LlmGatewayOptions> options, LlmSpendAggregator spend, ILlmTrafficReport traffic, LlmCallRecordDispatcher dispatcher, LlmUsageMetrics metrics, LlmTokenizers tokenizers, CallerIdentities callers)
    {
        _callers = callers;
        _tokenizers = tokenizers;
        _catalog = catalog;
        _options = options.Value.Metering;
        _spend = spend;
        _traffic = traffic as LlmTrafficAggregator; // null when another report (the ledger's) replaces this instance's
        _dispatcher = dispatcher;
        _metrics = metrics;
    }

    public LlmMeteringOptions Options => _options;

    /// <summary>The tokenizers the gateway counts with.</summary>
    public LlmTokenizers Tokenizers => _tokenizers;

    /// <summary>Refuses a call to an unpriced model when the policy is <see cref="LlmUnpricedModelPolicy.Block"/>.</summary>
    public void EnsurePriced(LlmRequestContext context, LlmProviderEndpoint provider, string model)
    {
        if (_options.UnpricedModels == LlmUnpricedModelPolicy.Block && PricingFor(provider.Name, model, context.StartedAt) is null)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, $"Model '{model}' of provider '{provider.Name}' has no price in the gateway's catalog, and calls to unpriced models are blocked.", 400) { Code = LlmErrorCodes.ModelNotPriced });
        }
    }

    /// <summary>
    /// Starts metering a call: what reaches the caller is observed, to be counted if the provider reports no usage, and
    /// a non-streamed response gets its cost headers (when enabled) just before its headers are sent.
    /// </summary>
    public void Begin(LlmRequestContext context)
    {
        var delivered = new DeliveredOutput();
        context.Observe(delivered);
        var response = context.HttpContext.Response;
        response.RegisterForDispose(delivered);
        if (_options.EmitCostHeaders)
        {
            response.OnStarting(
                static state =>
                {
                    var (meter, context) = ((LlmMeter, LlmRequestContext))state;
                    meter.WriteCostHeaders(context);
                    return Task.CompletedTask;
                },
                (this, context));
        }
    }

    /// <summary>What every record of <paramref name="context"/>'s call shares: its ids, start time, caller, operation and requested model.</summary>
    private LlmCallOrigin Origin(LlmRequestContext context) =>
        new(UuidV7.Create(context.StartedAt), context.HttpContext.TraceIdentifier, context.StartedAt, _callers.Of(context), context.OperationName, context.RequestedModel, context.Request.Stream, context.Experiment, context.Task);

    /// <summary>Builds and publishes the record of a finished call.</summary>
    public void Complete(LlmRequestContext context)
    {
        var record = BuildRecord(context);
        context.Record = record;
        context.Settle(); // budgets and limits first: a record a sink sees has been charged
        Publish(record);
        if (record.Stream && _options.EmitCostHeaders && context.HttpContext.Response.SupportsTrailers())
        {
            WriteTrailers(record, context.HttpContext.Response);
        }
    }

    /// <summary>Publishes the record of a cancelled race leg, billed for its estimated usage; it may end after the call.</summary>
    public void CompleteLoser(LlmRequestContext context, LlmAttempt attempt)
    {
        var usage = attempt.EstimatedUsage ?? default;
        var pricing = PricingFor(attempt.Provider, attempt.Model, context.StartedAt);
        var record = new LlmCallRecord(Origin(context))
        {
            Provider = attempt.Provider,
            Deployment = attempt.Deployment,
            Model = attempt.Model,
            InputTokens = usage.InputTokens,
            OutputTokens = usage.OutputTokens,
            TokenSource = LlmTokenSource.Counted,
            Tokenizer = _tokenizers.For(attempt.Provider, attempt.Model).Name,
            Cost = pricing is null ? null : LlmCostCalculator.Cost(usage, pricing),
            PriceVersion = pricing?.Version,
            Unpriced = pricing is null,
            Status = LlmCallStatus.Cancelled,
            StatusCode = attempt.StatusCode,
            Role = LlmCallRole.RaceLoser,
            Duration = attempt.Duration,
        };
        context.SettleLoser(record);
        Publish(record);
    }

    /// <summary>Adds the cost headers to a non-streamed response as its headers are sent.</summary>
    internal void WriteCostHeaders(LlmRequestContext context)
    {
        if (context.Request.Stream || context.Error is not null || context.ProviderName is null)
        {
            return;
        }

        var headers = context.HttpContext.Response.Headers;
        if (context.CacheHit is { } hit)
        {
            // Nothing was spent; the saved cost has its own header.
            headers[CostHeader] = "0";
            headers[InputTokensHeader] = hit.Response.Usage.InputTokens.ToString(CultureInfo.InvariantCulture);
            headers[OutputTokensHeader] = hit.Response.Usage.OutputTokens.ToString(CultureInfo.InvariantCulture);
            if (hit.PriceVersion is { } hitVersion)
            {
                headers[PriceVersionHeader] = hitVersion;
            }

            return;
        }

        var (usage, _, images, _) = SettleUsage(context);
        var pricing = PricingFor(context.ProviderName, context.UpstreamModel!, context.StartedAt);
        headers[CostHeader] = pricing is null ? "unpriced" : LlmCostCalculator.Cost(usage, pricing, images).ToString(CultureInfo.InvariantCulture);
        headers[InputTokensHeader] = usage.InputTokens.ToString(CultureInfo.InvariantCulture);
        headers[OutputTokensHeader] = usage.OutputTokens.ToString(CultureInfo.InvariantCulture);
        if (pricing?.Version is { } version)
        {
            headers[PriceVersionHeader] = version;
        }
    }

    private static void WriteTrailers(LlmCallRecord record, HttpResponse response)
    {
        response.AppendTrailer(CostHeader, record.Cost?.ToString(CultureInfo.InvariantCulture) ?? "unpriced");
        response.AppendTrailer(InputTokensHeader, record.InputTokens.ToString(CultureInfo.InvariantCulture));
        response.AppendTrailer(OutputTokensHeader, record.OutputTokens.ToString(CultureInfo.InvariantCulture));
        if (record.PriceVersion is { } version)
        {
            response.AppendTrailer(PriceVersionHeader, version);
        }
    }

    private void Publish(LlmCallRecord record)
    {
        _spend.Add(record);
        _traffic?.Add(record);
        _metrics.Record(record);
        _dispatcher.Enqueue(record);
    }

    /// <summary>The version of the price in force for <paramref name="model"/> at <paramref name="at"/>, if priced.</summary>
    public string? PriceVersionFor(string provider, string model, DateTimeOffset at) => PricingFor(provider, model, at)?.Version;

    private LlmModelPricing? PricingFor(string provider, string model, DateTimeOffset at) => _catalog.Find(provider, model)?.PricingAt(at);

    private LlmCallRecord BuildRecord(LlmRequestContext context)
    {
        if (context.CacheHit is { } hit)
        {
            var replayed = hit.Response.Usage;
            return new LlmCallRecord(Origin(context))
            {
                Provider = hit.Provider,
                Deployment = hit.Deployment,
                Model = hit.Model,
                InputTokens = replayed.InputTokens,
                CachedInputTokens = replayed.CachedInputTokens,
                CacheWriteInputTokens = replayed.CacheWriteInputTokens,
                OutputTokens = replayed.OutputTokens,
                ReasoningTokens = replayed.ReasoningTokens,
                TokenSource = LlmTokenSource.Provider,
                Cost = 0m,
                PriceVersion = hit.PriceVersion,
                Status = context.ClientDisconnected ? LlmCallStatus.ClientDisconnected : LlmCallStatus.Succeeded,
                StatusCode = 200,
                Role = LlmCallRole.Primary,
                TimeToFirstToken = context.TimeToFirstToken,
                Duration = context.Duration,
                Cache = context.CacheOutcome,
                SavedCost = hit.Cost,
            };
        }

        var (usage, source, images, tokenizer) = SettleUsage(context);
        var status = context.Error?.Code == LlmErrorCodes.ModelNotPriced ? LlmCallStatus.Blocked
            : context.ClientDisconnected ? LlmCallStatus.ClientDisconnected
            : context.Error is not null && context.TimeToFirstToken is not null && context.Request.Stream ? LlmCallStatus.StreamBroken
            : context.Error is not null ? LlmCallStatus.Failed
            : LlmCallStatus.Succeeded;
        var pricing = context.ProviderName is { } provider && context.UpstreamModel is { } model ? PricingFor(provider, model, context.StartedAt) : null;
        var reachedProvider = context.ProviderName is not null && status != LlmCallStatus.Blocked;
        return new LlmCallRecord(Origin(context))
        {
            Provider = context.ProviderName,
            Deployment = context.Deployment?.Name,
            Model = context.UpstreamModel,
            InputTokens = usage.InputTokens,
            CachedInputTokens = usage.CachedInputTokens,
            CacheWriteInputTokens = usage.CacheWriteInputTokens,
            OutputTokens = usage.OutputTokens,
            ReasoningTokens = usage.ReasoningTokens,
            Images = images,
            TokenSource = source,
            Tokenizer = tokenizer,
            Cost = pricing is null ? (reachedProvider ? null : 0m) : LlmCostCalculator.Cost(usage, pricing, images),
            PriceVersion = pricing?.Version,
            Unpriced = pricing is null && reachedProvider,
            Status = status,
            StatusCode = context.Error?.Status ?? context.UpstreamStatusCode,
            ErrorCode = context.Error is { } error ? error.Code ?? error.Kind.ToString() : null,
            Role = context.IsJudgeCall ? LlmCallRole.Judge : context.Raced ? LlmCallRole.RaceWinner : LlmCallRole.Primary,
            TimeToFirstToken = context.TimeToFirstToken,
            Duration = context.Duration,
            Cache = context.CacheOutcome,
            Retries = context.Retries,
            Fallbacks = context.Fallbacks,
        };
    }

    /// <summary>
    /// The tokens a call is billed for. A complete response with provider usage is taken as reported. Otherwise the
    /// provider's figures are kept where it gave them (typically the prompt, reported when a stream opens) and the gaps
    /// are counted: the prompt from the request, the output from what was actually delivered.
    /// </summary>
    private (LlmUsage Usage, LlmTokenSource Source, int Images, string? Tokenizer) SettleUsage(LlmRequestContext context)
    {
        var reported = context.Usage;
        var images = context.CountedPrompt.Images;
        var billable = context.UpstreamStatusCode is >= 200 and < 300 || (context.ClientDisconnected && context.UpstreamStatusCode is null && context.ProviderName is not null);
        if (!billable || context.Error?.Code == LlmErrorCodes.ModelNotPriced)
        {
            return (default, LlmTokenSource.Provider, images, null);
        }

        if (context.UsageCountedBy is { } countedBy)
        {
            return (reported, LlmTokenSource.Counted, images, countedBy);
        }

        var complete = context.Error is null && !context.ClientDisconnected && (context.FinishReason is not null || !context.Request.Stream);
        var delivered = context.Observers?.Find<DeliveredOutput>();
        if (complete && reported.InputTokens > 0 && (reported.OutputTokens > 0 || delivered is null or { IsEmpty: true }))
        {
            return (reported, LlmTokenSource.Provider, images, null);
        }

        var tokenizer = _tokenizers.For(context.ProviderName, context.UpstreamModel);
        var usage = reported;
        var inputCounted = reported.InputTokens <= 0 && context.OperationName == LlmOperationNames.Chat;
        if (inputCounted)
        {
            (var tokens, images) = ChatTokenCounter.CountPrompt(context, tokenizer);
            usage = usage with { InputTokens = tokens };
        }

        // A cut stream's last usage event (if any) undercounts what was delivered; the delivered text is the floor.
        var deliveredTokens = delivered is null or { IsEmpty: true } ? 0 : tokenizer.Count(delivered.ToText());
        var outputCounted = deliveredTokens > reported.OutputTokens;
        if (outputCounted)
        {
            usage = usage with { OutputTokens = deliveredTokens };
        }

        var source = !inputCounted && !outputCounted ? LlmTokenSource.Provider
            : inputCounted && (outputCounted || reported.OutputTokens == 0) ? LlmTokenSource.Counted
            : LlmTokenSource.Mixed;
        return (usage, source, images, source == LlmTokenSource.Provider ? null : tokenizer.Name);
    }
}
