using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Pipeline;

/// <summary>
/// The pipeline stage of the host's <see cref="LlmGatewayHook"/>s, in registration order: <c>OnRequestAsync</c> when the
/// call reaches it (a hook may refuse by throwing <see cref="LlmGatewayException"/>), <c>OnCompletedAsync</c> once the
/// call is complete and metered, with its record.
/// </summary>
internal sealed partial class HooksStage : LlmCallStage
{
    private readonly LlmGatewayHook[] _hooks;
    private readonly ILogger<HooksStage> _logger;

    public HooksStage(IEnumerable<LlmGatewayHook> hooks, ILogger<HooksStage> logger)
    {
        _hooks = [.. hooks];
        _logger = logger;

        // Only a hook that overrides OnRequestAsync can edit the request (and so rule out passthrough).
        EditsRequest = Array.Exists(_hooks, h => h.GetType().GetMethod(nameof(LlmGatewayHook.OnRequestAsync))!.DeclaringType != typeof(LlmGatewayHook));
    }

    public override bool EditsRequest { get; }

    internal override bool PassesThrough(LlmRequestContext context) => _hooks.Length == 0;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken) =>
        _hooks.Length == 0 ? next(context, cancellationToken) : RunAsync(context, next, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RunAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        await BeforeAsync(context, cancellationToken).ConfigureAwait(false);
        await next(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <c>OnRequestAsync</c> and arranges for <c>OnCompletedAsync</c>; also what a YARP route does.</summary>
    public async ValueTask BeforeAsync(LlmRequestContext context, CancellationToken cancellationToken)
    {
        if (_hooks.Length > 0)
        {
            // Registered before any hook runs, so a call a hook refuses still completes through every hook.
            context.OnCompleted(static (context, stage) => ((HooksStage)stage!).CompletedAsync(context), this);
            foreach (var hook in _hooks)
            {
                await hook.OnRequestAsync(context, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask CompletedAsync(LlmRequestContext context)
    {
        foreach (var hook in _hooks)
        {
            try
            {
                await hook.OnCompletedAsync(context, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.HookFailed(_logger, hook.GetType().Name, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Error, "LLM gateway hook {Hook} failed in OnCompletedAsync.", EventName = "HookFailed")]
        public static partial void HookFailed(ILogger logger, string hook, Exception exception);
    }
}
