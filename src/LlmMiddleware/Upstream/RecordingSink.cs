using LlmMiddleware.Protocols;

namespace LlmMiddleware.Upstream;

/// <summary>
/// Sits between a provider stream reader and the client writer: records usage, finish reason, errors and the
/// first-token time on the <see cref="LlmRequestContext"/>, and shows every event to the call's observers (metering,
/// the cache). In passthrough mode the upstream bytes are relayed as they are, so only errors the gateway itself
/// detects (a broken stream) are written.
/// </summary>
internal sealed class RecordingSink(LlmRequestContext context, ILlmStreamSink client, bool passthrough) : ILlmStreamSink
{
    private readonly ResponseObservers? _observers = context.Observers;

    public bool Failed { get; private set; }

    public void Start(string id, string model)
    {
        _observers?.Start(id, model);
        if (!passthrough)
        {
            client.Start(id, model);
        }
    }

    public void Text(ReadOnlySpan<byte> jsonString)
    {
        context.MarkFirstToken();
        _observers?.Text(jsonString);
        if (!passthrough)
        {
            client.Text(jsonString);
        }
    }

    public void Reasoning(ReadOnlySpan<byte> jsonString)
    {
        context.MarkFirstToken();
        _observers?.Reasoning(jsonString);
        if (!passthrough)
        {
            client.Reasoning(jsonString);
        }
    }

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        _observers?.ReasoningSignature(jsonString);
        if (!passthrough)
        {
            client.ReasoningSignature(jsonString);
        }
    }

    public void ToolCallStart(int index, string id, string name)
    {
        context.MarkFirstToken();
        _observers?.ToolCallStart(index, id, name);
        if (!passthrough)
        {
            client.ToolCallStart(index, id, name);
        }
    }

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        _observers?.ToolCallArguments(index, jsonString);
        if (!passthrough)
        {
            client.ToolCallArguments(index, jsonString);
        }
    }

    public void Usage(in LlmUsage usage)
    {
        context.Usage = usage;
        _observers?.Usage(usage);
        if (!passthrough)
        {
            client.Usage(usage);
        }
    }

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
        context.FinishReason = reason;
        _observers?.Finish(reason, stopSequence);
        if (!passthrough)
        {
            client.Finish(reason, stopSequence);
        }
    }

    public void Error(LlmError error)
    {
        Failed = true;
        context.Error = error;
        _observers?.Error(error);
        if (!passthrough || error.Code is LlmErrorCodes.UpstreamStreamBroken or LlmErrorCodes.UpstreamTimeout)
        {
            client.Error(error);
        }
    }

    public void Complete()
    {
        _observers?.Complete();
        if (!passthrough)
        {
            client.Complete();
        }
    }
}
