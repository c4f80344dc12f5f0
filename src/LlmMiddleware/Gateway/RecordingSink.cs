using LlmMiddleware.Protocols;

namespace LlmMiddleware.Gateway;

/// <summary>
/// Sits between a provider stream reader and the client writer: records usage, finish reason, errors and the
/// first-token time on the <see cref="LlmRequestContext"/>, and captures what is delivered for metering (and, with
/// <paramref name="capture"/>, the whole response for the cache). In passthrough mode the upstream bytes are relayed
/// as they are, so only errors the gateway itself detects (a broken stream) are written.
/// </summary>
internal sealed class RecordingSink(LlmRequestContext context, ILlmStreamSink client, bool passthrough, ResponseBuilder? capture = null) : ILlmStreamSink
{
    public bool Failed { get; private set; }

    public void Start(string id, string model)
    {
        capture?.Start(id, model);
        if (!passthrough)
        {
            client.Start(id, model);
        }
    }

    public void Text(ReadOnlySpan<byte> jsonString)
    {
        capture?.Text(jsonString);
        context.MarkFirstToken();
        context.Delivered.AppendLiteral(jsonString);
        if (!passthrough)
        {
            client.Text(jsonString);
        }
    }

    public void Reasoning(ReadOnlySpan<byte> jsonString)
    {
        capture?.Reasoning(jsonString);
        context.MarkFirstToken();
        context.Delivered.AppendLiteral(jsonString);
        if (!passthrough)
        {
            client.Reasoning(jsonString);
        }
    }

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        capture?.ReasoningSignature(jsonString);
        if (!passthrough)
        {
            client.ReasoningSignature(jsonString);
        }
    }

    public void ToolCallStart(int index, string id, string name)
    {
        capture?.ToolCallStart(index, id, name);
        context.MarkFirstToken();
        context.Delivered.AppendText(name);
        if (!passthrough)
        {
            client.ToolCallStart(index, id, name);
        }
    }

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        capture?.ToolCallArguments(index, jsonString);
        context.Delivered.AppendLiteral(jsonString);
        if (!passthrough)
        {
            client.ToolCallArguments(index, jsonString);
        }
    }

    public void Usage(in LlmUsage usage)
    {
        capture?.Usage(usage);
        context.Usage = usage;
        if (!passthrough)
        {
            client.Usage(usage);
        }
    }

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
        capture?.Finish(reason, stopSequence);
        context.FinishReason = reason;
        if (!passthrough)
        {
            client.Finish(reason, stopSequence);
        }
    }

    public void Error(LlmError error)
    {
        Failed = true;
        context.Error = error;
        if (!passthrough || error.Code is LlmErrorCodes.UpstreamStreamBroken or LlmErrorCodes.UpstreamTimeout)
        {
            client.Error(error);
        }
    }

    public void Complete()
    {
        if (capture is not null)
        {
            context.CapturedResponse = capture.Build();
        }

        if (!passthrough)
        {
            client.Complete();
        }
    }
}
