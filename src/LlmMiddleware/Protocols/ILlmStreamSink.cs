using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary>
/// Protocol-neutral stream events. Provider stream readers call it; client stream writers implement it.
/// Text arguments are JSON string literals (with quotes and escapes) exactly as they appeared upstream, so a
/// delta is relayed without being unescaped and escaped again.
/// </summary>
internal interface ILlmStreamSink
{
    void Start(string id, string model);

    void Text(ReadOnlySpan<byte> jsonString);

    void Reasoning(ReadOnlySpan<byte> jsonString);

    void ReasoningSignature(ReadOnlySpan<byte> jsonString);

    /// <summary>A new tool call; <paramref name="index"/> counts tool calls within the message from 0.</summary>
    void ToolCallStart(int index, string id, string name);

    void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString);

    /// <summary>Cumulative usage so far; later calls replace earlier ones.</summary>
    void Usage(in LlmUsage usage);

    void Finish(LlmFinishReason reason, string? stopSequence);

    /// <summary>The stream failed; no further events follow.</summary>
    void Error(LlmError error);

    /// <summary>The stream ended normally; no further events follow.</summary>
    void Complete();
}

/// <summary>Turns one provider's SSE events into <see cref="ILlmStreamSink"/> calls.</summary>
internal abstract class LlmStreamReader
{
    /// <summary>Whether <see cref="ILlmStreamSink.Complete"/> or <see cref="ILlmStreamSink.Error"/> has been called.</summary>
    public bool IsTerminated { get; protected set; }

    public abstract void OnEvent(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, ILlmStreamSink sink);

    /// <summary>Reads every complete event <paramref name="sse"/> holds, up to the end of the stream.</summary>
    public void ReadBuffered(Sse.IStreamFrames sse, ILlmStreamSink sink)
    {
        while (!IsTerminated && sse.TryRead(out var name, out var data))
        {
            OnEvent(name, data, sink);
        }
    }

    /// <summary>The upstream body ended. A stream that had not finished properly is reported as an error.</summary>
    public virtual void OnEndOfStream(ILlmStreamSink sink, bool finishSeen)
    {
        if (IsTerminated)
        {
            return;
        }

        IsTerminated = true;
        if (finishSeen)
        {
            sink.Complete();
        }
        else
        {
            sink.Error(StreamBroken("The upstream stream ended before the response was complete."));
        }
    }

    /// <summary>Parses one event's JSON; a malformed event ends the stream with an error.</summary>
    protected bool TryParse(ReadOnlySpan<byte> data, ILlmStreamSink sink, out JsonDocument document)
    {
        try
        {
            var reader = new Utf8JsonReader(data);
            document = JsonDocument.ParseValue(ref reader);
            return true;
        }
        catch (JsonException)
        {
            document = null!;
            Terminate(sink, StreamBroken("The upstream sent a malformed stream event."));
            return false;
        }
    }

    protected void Terminate(ILlmStreamSink sink, LlmError? error)
    {
        if (IsTerminated)
        {
            return;
        }

        IsTerminated = true;
        if (error is null)
        {
            sink.Complete();
        }
        else
        {
            sink.Error(error);
        }
    }

    // Failures the gateway itself detects in a stream, as opposed to errors the provider sent.
    public static LlmError StreamBroken(string message) => new(LlmErrorKind.Server, message, 502) { Code = LlmErrorCodes.UpstreamStreamBroken };

    public static LlmError StreamTimedOut(string message) => new(LlmErrorKind.Timeout, message) { Code = LlmErrorCodes.UpstreamTimeout };
}
