using System.Globalization;
using System.Runtime.CompilerServices;
using LlmMiddleware.Caching.Semantic;
using LlmMiddleware.Gateway;
using LlmMiddleware.Metering;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Caching;

/// <summary>
/// The response cache in front of the providers. A cacheable call is looked up by its canonical key through
/// <see cref="HybridCache"/>, whose stampede protection makes identical concurrent calls wait for one provider call;
/// the one elected to fill the key then tries the semantic cache before going to a provider. Hits are replayed in the
/// caller's protocol, streamed or not. A cache that fails never fails a call: it is then a miss.
/// </summary>
internal sealed partial class LlmResponseCache
{
    /// <summary>The response header reporting the cache outcome.</summary>
    public const string Header = "x-llm-cache";

    /// <summary>The response header reporting what a hit saved, in USD, at the original call's price version.</summary>
    public const string SavedCostHeader = "x-llm-cost-saved-usd";

    /// <summary>The reserved policy name meaning "no caching".</summary>
    public const string OffPolicy = "off";

    private readonly HybridCache _cache;
    private readonly LlmSemanticCache _semantic;
    private readonly Identity.CallerIdentities _callers;
    private readonly LlmMeter _meter;
    private readonly LlmGatewayOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LlmResponseCache> _logger;
    private readonly ResolvedCachePolicy? _default;
    private readonly Dictionary<string, ResolvedCachePolicy?> _named = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConditionalWeakTable<LlmCachePolicy, ResolvedCachePolicy> _inCode = [];

    public LlmResponseCache([FromKeyedServices(LlmCacheOptions.HybridCacheKey)] HybridCache cache, LlmSemanticCache semantic, LlmMeter meter, Identity.CallerIdentities callers, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, ILogger<LlmResponseCache> logger)
    {
        _cache = cache;
        _semantic = semantic;
        _callers = callers;
        _meter = meter;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _default = Resolve(_options.Cache);
        foreach (var (name, policy) in _options.Cache.Policies)
        {
            _named[name] = Resolve(policy);
        }
    }

    /// <summary>Whether <paramref name="name"/> is a configured policy or <c>off</c>.</summary>
    public bool IsKnownPolicy(string name) => string.Equals(name, OffPolicy, StringComparison.OrdinalIgnoreCase) || _named.ContainsKey(name);

    /// <summary>The policy named <paramref name="name"/> (<see langword="null"/> for the default; none for <c>off</c>).</summary>
    public ResolvedCachePolicy? PolicyNamed(string? name) =>
        name is null ? _default
        : string.Equals(name, OffPolicy, StringComparison.OrdinalIgnoreCase) ? null
        : _named.TryGetValue(name, out var policy) ? policy
        : throw new InvalidOperationException($"Unknown LLM cache policy '{name}'. Configure it under LlmGateway:Cache:Policies, or use '{OffPolicy}'.");

    /// <summary>The policy of a gateway endpoint: its <see cref="LlmCachePolicyMetadata"/>, else the default.</summary>
    public ResolvedCachePolicy? PolicyFor(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<LlmCachePolicyMetadata>() is { } metadata
            ? metadata.Policy is { } policy ? (policy.Mode == LlmCacheMode.Off ? null : _inCode.GetValue(policy, static p => new ResolvedCachePolicy(p))) : PolicyNamed(metadata.PolicyName)
            : _default;

    /// <summary>A policy ready for use; none for <see cref="LlmCacheMode.Off"/>.</summary>
    private static ResolvedCachePolicy? Resolve(LlmCachePolicy policy) => policy.Mode == LlmCacheMode.Off ? null : new ResolvedCachePolicy(policy);

    /// <summary>
    /// Answers the call from the cache when it can (returns <see langword="true"/> once the response is written).
    /// Otherwise prepares the call to fill the cache when it completes, and returns <see langword="false"/>.
    /// </summary>
    public ValueTask<bool> TryServeAsync(LlmRequestContext context, ResolvedCachePolicy? policy, CancellationToken aborted)
    {
        if (policy is null)
        {
            return ValueTask.FromResult(false);
        }

        var (noCache, noStore) = ReadCacheControl(context.HttpContext.Request);
        if (noStore || context.Request.N is > 1)
        {
            SetOutcome(context, LlmCacheOutcome.Bypass);
            return ValueTask.FromResult(false);
        }

        var caller = _callers.Of(context);
        if (!TryScope(policy.Scope, caller, out var scope))
        {
            // Fails closed: a caller the gateway cannot tell apart from others shares nothing unless the policy says Shared.
            SetOutcome(context, LlmCacheOutcome.Bypass);
            return ValueTask.FromResult(false);
        }

        var unmodeled = LlmCacheKey.Unmodeled(context.Request, context.Codec, context.HttpContext.Request.Headers);
        var call = new CacheCall(this, LlmCacheKey.Compute(context.Request, context.RequestedModel, context.UpstreamModel!, scope, unmodeled), policy, Tags(context));
        context.HttpContext.Response.RegisterForDispose(call);
        context.OnCompleted(
            static (context, call) =>
            {
                var c = (CacheCall)call!;
                c.Cache.Complete(context, c);
                return ValueTask.CompletedTask;
            },
            call);
        if (noCache)
        {
            // Served fresh; the fresh answer replaces the stored one only in the caller's own scope — one caller may not
            // overwrite what every caller of a shared policy is answered with.
            SetOutcome(context, LlmCacheOutcome.Bypass);
            if (scope is not null)
            {
                call.Fill(context);
            }

            return ValueTask.FromResult(false);
        }

        return LookUpAsync(context, call, caller, scope, unmodeled, aborted);
    }

    private async ValueTask<bool> LookUpAsync(LlmRequestContext context, CacheCall call, LlmCallerIdentity caller, string? scope, string? unmodeled, CancellationToken aborted)
    {
        LlmCacheEntry entry;
        try
        {
            var lookup = _cache.GetOrCreateAsync(call.Key, call, static (call, _) => call.ElectAsync(), call.Policy.EntryOptions, call.Tags, aborted);
            if (!lookup.IsCompleted)
            {
                // A waiter gives a slow leader no longer than its own call would have for its first token; then it
                // goes to the provider itself (and leaves the entry to the leader).
                var pending = lookup.AsTask();
                try
                {
                    await Task.WhenAny(pending, call.Elected).WaitAsync(_options.FirstTokenTimeout ?? _options.UpstreamTimeout, _timeProvider, aborted).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    SetOutcome(context, LlmCacheOutcome.Miss);
                    return false;
                }

                if (call.IsLeader && !pending.IsCompleted)
                {
                    return await LeadAsync(context, call, caller, scope, unmodeled, aborted).ConfigureAwait(false);
                }

                lookup = new ValueTask<LlmCacheEntry>(pending);
            }

            entry = await lookup.ConfigureAwait(false);
        }
        catch (LlmCacheAbandonedException)
        {
            // The call this one waited for had nothing to share: go to the provider, and fill the entry if that works.
            SetOutcome(context, LlmCacheOutcome.Miss);
            call.Fill(context);
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !aborted.IsCancellationRequested)
        {
            Log.CacheFailed(_logger, ex);
            SetOutcome(context, LlmCacheOutcome.Miss);
            return false;
        }

        await ReplayAsync(context, entry, entry.Semantic ? LlmCacheOutcome.HitSemantic : LlmCacheOutcome.HitExact, aborted).ConfigureAwait(false);
        return true;
    }

    /// <summary>This call fills its key: a semantic neighbour answers it (and the waiters), or a provider will.</summary>
    private async ValueTask<bool> LeadAsync(LlmRequestContext context, CacheCall call, LlmCallerIdentity caller, string? scope, string? unmodeled, CancellationToken aborted)
    {
        if (call.Policy.Mode == LlmCacheMode.Semantic && context.OperationName == LlmOperationNames.Chat && SemanticRules.Allow(context.Request, call.Policy) is { } text)
        {
            var vector = await _semantic.EmbedAsync(text, caller, aborted).ConfigureAwait(false);
            if (vector is not null)
            {
                call.Partition = LlmCacheKey.ComputePartition(context.Request, context.RequestedModel, context.UpstreamModel!, scope, _semantic.EmbedderId, unmodeled);
                if (_semantic.Find(call.Partition, vector, call.Policy.SimilarityThreshold) is { } neighbour)
                {
                    var entry = neighbour.AsSemantic();
                    call.Answer(entry);
                    await ReplayAsync(context, entry, LlmCacheOutcome.HitSemantic, aborted).ConfigureAwait(false);
                    return true;
                }

                call.Vector = vector;
            }
        }

        SetOutcome(context, LlmCacheOutcome.Miss);
        call.Fill(context);
        return false;
    }

    /// <summary>
    /// Stores the answer of a call that went to a provider, once it has completed and been metered (the entry carries
    /// its cost). Only complete, successful answers are stored; anything else releases the waiters empty-handed.
    /// </summary>
    private void Complete(LlmRequestContext context, CacheCall call)
    {
        if (!call.Fills)
        {
            return;
        }

        if (context is not { Error: null, ClientDisconnected: false, UpstreamStatusCode: >= 200 and < 300, ProviderName: { } provider }
            || call.Response is not { Content.Count: > 0 } response || response.FinishReason == LlmFinishReason.ContentFilter)
        {
            call.Abandon();
            return;
        }

        var entry = new LlmCacheEntry
        {
            Response = response,
            Provider = provider,
            Model = context.UpstreamModel ?? response.Model,
            Deployment = context.Deployment?.Name,
            Cost = context.Record?.Cost,
            PriceVersion = context.Record?.PriceVersion,
            CreatedAt = _timeProvider.GetUtcNow(),
        };

        if (call.IsLeader)
        {
            // The cache that elected this call stores the answer and hands it to the waiters.
            call.Answer(entry);
        }
        else
        {
            _ = StoreAsync(call, entry, context.CacheOutcome == LlmCacheOutcome.Bypass ? call.Policy.RefreshOptions : call.Policy.EntryOptions);
        }

        if (call.Vector is { } vector)
        {
            _semantic.Add(call.Partition!, vector, entry, entry.CreatedAt + call.Policy.Ttl);
        }
    }

    private async Task StoreAsync(CacheCall call, LlmCacheEntry entry, HybridCacheEntryOptions options)
    {
        try
        {
            await _cache.SetAsync(call.Key, entry, options, call.Tags).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.CacheFailed(_logger, ex);
        }
    }

    /// <summary>Writes a cached answer in the caller's protocol, as one complete body or as a well-formed stream.</summary>
    private async Task ReplayAsync(LlmRequestContext context, LlmCacheEntry entry, LlmCacheOutcome outcome, CancellationToken aborted)
    {
        context.CacheHit = entry;
        context.Deployment = null;
        context.ProviderName = entry.Provider;
        context.UpstreamModel = entry.Model;
        context.Usage = entry.Response.Usage;
        context.FinishReason = entry.Response.FinishReason;
        SetOutcome(context, outcome);
        if (_options.EmitRouteHeaders)
        {
            RouteHeaders.Write(context);
        }

        var http = context.HttpContext;
        var response = http.Response;
        if (_meter.Options.EmitCostHeaders && entry.Cost is { } saved)
        {
            response.Headers[SavedCostHeader] = saved.ToString(CultureInfo.InvariantCulture);
        }

        response.StatusCode = 200;
        response.Headers.ContentLength = null;
        context.MarkFirstToken();
        if (!context.Request.Stream)
        {
            response.ContentType = "application/json";
            using var body = new PooledBufferWriter(1024);
            if (entry.Response.Content is [LlmNativePart { Type: LlmNativePart.EmbeddingsAnswer } embeddings])
            {
                Json.Write(body, System.Text.Encoding.UTF8.GetBytes(embeddings.Json));
            }
            else
            {
                context.Codec.WriteResponse(entry.Response, body);
            }

            await response.Body.WriteAsync(body.WrittenMemory, aborted).ConfigureAwait(false);
            return;
        }

        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = context.Codec.CreateStreamWriter(response.BodyWriter, context.Request.StreamIncludeUsage, entry.Response.Created);
        ResponsePlayer.Play(entry.Response, writer);
        await response.BodyWriter.FlushAsync(aborted).ConfigureAwait(false);
    }

    private static void SetOutcome(LlmRequestContext context, LlmCacheOutcome outcome)
    {
        context.CacheOutcome = outcome;
        context.HttpContext.Response.Headers[Header] = outcome switch
        {
            LlmCacheOutcome.HitExact => "hit-exact",
            LlmCacheOutcome.HitSemantic => "hit-semantic",
            LlmCacheOutcome.Miss => "miss",
            _ => "bypass",
        };
    }

    /// <summary>The partition of the caller's entries (<see langword="null"/>: everyone's); false when the caller has no
    /// identity the scope can use.</summary>
    private static bool TryScope(LlmCacheScope scope, LlmCallerIdentity caller, out string? partition)
    {
        partition = scope switch
        {
            LlmCacheScope.Shared => null,
            LlmCacheScope.Tenant when !string.IsNullOrEmpty(caller.Team) => "team:" + caller.Team,
            _ when !string.IsNullOrEmpty(caller.Key) => "key:" + caller.Key,
            _ => "",
        };
        return partition is not "";
    }

    /// <summary>Entries are tagged with the requested model, the routed provider/model and its price version, so a host
    /// can drop them with <see cref="HybridCache.RemoveByTagAsync(string, CancellationToken)"/>.</summary>
    private string[] Tags(LlmRequestContext context)
    {
        var routed = context.ProviderName + "/" + context.UpstreamModel;
        return _meter.PriceVersionFor(context.ProviderName!, context.UpstreamModel!, context.StartedAt) is { } version
            ? ["llm-model:" + context.RequestedModel, "llm-model:" + routed, "llm-price:" + version]
            : ["llm-model:" + context.RequestedModel, "llm-model:" + routed];
    }

    private static (bool NoCache, bool NoStore) ReadCacheControl(HttpRequest request)
    {
        var noCache = false;
        var noStore = false;
        foreach (var value in request.Headers.CacheControl)
        {
            foreach (var directive in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                noCache |= directive.Equals("no-cache", StringComparison.OrdinalIgnoreCase);
                noStore |= directive.Equals("no-store", StringComparison.OrdinalIgnoreCase);
            }
        }

        return (noCache, noStore);
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Warning, "The LLM response cache failed; the call goes to the provider.", EventName = "CacheFailed")]
        public static partial void CacheFailed(ILogger logger, Exception exception);
    }
}
