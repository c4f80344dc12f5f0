using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>A scripted fault or reply override for the next upstream call.</summary>
public sealed record FakeFault
{
    public int Status { get; init; }
    public string? Body { get; init; }
    public Dictionary<string, string> Headers { get; init; } = [];

    /// <summary>For streams: close the connection abruptly after this many events.</summary>
    public int? BreakAfterEvents { get; init; }

    /// <summary>For streams: wait this long between events.</summary>
    public TimeSpan EventDelay { get; init; }

    /// <summary>For streams: send this many events before <see cref="EventDelay"/> starts applying.</summary>
    public int DelayAfterEvents { get; init; }

    /// <summary>Wait this long before answering at all (no headers).</summary>
    public TimeSpan HeaderDelay { get; init; }

    /// <summary>Wait until this task completes before answering at all (no headers): holds a call open for exactly as long as a test needs.</summary>
    public Task? HoldUntil { get; init; }

    /// <summary>Before answering, wait until a call to this provider has arrived: orders the legs of a race.</summary>
    public string? AfterCallTo { get; init; }

    /// <summary>Only a call to this provider (<c>openai</c>, <c>anthropic</c>, ...) takes the fault; any call when null.</summary>
    public string? Provider { get; init; }

    /// <summary>Replace the reply text.</summary>
    public string? Text { get; init; }

    /// <summary>Completed when the fake starts holding back (before <see cref="HeaderDelay"/>, <see cref="HoldUntil"/> or
    /// <see cref="EventDelay"/>): the moment a test on a fake clock advances it past the gateway's time limit.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The shared fault script: holding back, scripted errors, and paced or broken streams.</summary>
public sealed partial class FakeUpstream
{
    private async Task<bool> ApplyFaultAsync(HttpContext http, FakeFault? fault)
    {
        if (fault?.AfterCallTo is { } other)
        {
            await WaitForCallsAsync(calls => calls.Any(c => c.Provider == other), $"No call to {other} arrived.");
        }

        if (fault is { HeaderDelay.Ticks: > 0 } or { HoldUntil: not null })
        {
            fault.Holding.TrySetResult();
            try
            {
                // Resumed on the thread pool, never inline: a test's release (SetResult on its own thread) would
                // otherwise run the rest of this request on xunit's test context, which the parallel tests share and
                // can starve (a held call once went unanswered for 100 s in a full run).
                await (fault.HoldUntil ?? Task.Delay(fault.HeaderDelay)).WaitAsync(http.RequestAborted).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }
            catch (OperationCanceledException)
            {
                // The gateway gave up on this call (a time limit, or a race lost): observable by tests.
                StreamCancelled.TrySetResult();
                return true;
            }
        }

        if (fault is null || fault.Status == 0)
        {
            return false;
        }

        foreach (var (name, value) in fault.Headers)
        {
            http.Response.Headers[name] = value;
        }

        await WriteJsonAsync(http, fault.Status, fault.Body ?? "{}");
        return true;
    }

    private async Task StreamAsync(HttpContext http, IEnumerable<string> events, FakeFault? fault)
    {
        http.Response.ContentType = "text/event-stream";
        var count = 0;
        try
        {
            foreach (var e in events)
            {
                if (fault?.BreakAfterEvents is { } limit && count == limit)
                {
                    // Let the flushed events reach the gateway before the connection is torn down.
                    await http.Response.Body.FlushAsync();
                    await Task.Delay(100);
                    http.Abort();
                    return;
                }

                await http.Response.WriteAsync(e, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
                count++;
                if (fault is { EventDelay.Ticks: > 0 } && count >= fault.DelayAfterEvents)
                {
                    fault.Holding.TrySetResult();
                    await Task.Delay(fault.EventDelay, http.RequestAborted);
                }
            }
        }
        catch (OperationCanceledException)
        {
            StreamCancelled.TrySetResult();
        }
    }
}
