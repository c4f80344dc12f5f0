using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Metering;

/// <summary>
/// The pipeline stage that records every call that passes through it (cost, usage, the sinks), once the response has
/// been sent — refusals and cache hits included when it runs outside them, as by default.
/// </summary>
internal sealed partial class MeteringStage(LlmMeter meter, ILogger<MeteringStage> logger) : LlmCallStage
{
    public override bool EditsRequest => false;

    internal override bool RecordsCalls => true;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        try
        {
            await next(context, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Record(context);
        }
    }

    /// <summary>Records the call once; a failure to record is logged and never fails the call.</summary>
    public void Record(LlmRequestContext context)
    {
        if (context.Metered)
        {
            return;
        }

        context.Metered = true;
        context.MarkEnd();
        try
        {
            meter.Complete(context);
        }
        catch (Exception ex)
        {
            Log.MeteringFailed(logger, ex);
        }
        finally
        {
            // Budgets and limits held for the call are settled even if the record could not be made.
            context.Settle();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5, LogLevel.Error, "Metering an LLM call failed; the call has no record.", EventName = "MeteringFailed")]
        public static partial void MeteringFailed(ILogger logger, Exception exception);
    }
}
