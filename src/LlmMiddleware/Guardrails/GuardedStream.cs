using LlmMiddleware.Protocols;

namespace LlmMiddleware.Guardrails;

/// <summary>
/// Sits between a provider stream reader and the rest of the relay (recording, the caller's writer): text deltas go
/// through the stream's guards, text held back is released before any other event, and a guard that stops the stream
/// turns into the stream's error, after which nothing more is sent.
/// </summary>
internal sealed class GuardedStream(LlmStreamGuard[] guards, ILlmStreamSink inner) : ILlmStreamSink
{
    /// <summary>Whether a guard stopped the stream: the relay stops reading the provider.</summary>
    public bool Stopped { get; private set; }

    public void Start(string id, string model) => Forward(() => inner.Start(id, model));

    public void Text(ReadOnlySpan<byte> jsonString)
    {
        if (Stopped)
        {
            return;
        }

        var text = Json.DecodeLiteral(jsonString);
        try
        {
            foreach (var guard in guards)
            {
                text = guard.OnText(text);
            }
        }
        catch (LlmGatewayException ex)
        {
            Stop(ex.Error);
            return;
        }

        if (text.Length > 0)
        {
            inner.Text(Json.EncodeLiteral(text));
        }
    }

    public void Reasoning(ReadOnlySpan<byte> jsonString)
    {
        if (Release())
        {
            inner.Reasoning(jsonString);
        }
    }

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        if (!Stopped)
        {
            inner.ReasoningSignature(jsonString);
        }
    }

    public void ToolCallStart(int index, string id, string name) => Forward(() => inner.ToolCallStart(index, id, name));

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        if (!Stopped)
        {
            inner.ToolCallArguments(index, jsonString);
        }
    }

    public void Usage(in LlmUsage usage)
    {
        if (!Stopped)
        {
            inner.Usage(usage);
        }
    }

    public void Finish(LlmFinishReason reason, string? stopSequence) => Forward(() => inner.Finish(reason, stopSequence));

    public void Error(LlmError error)
    {
        if (!Stopped)
        {
            inner.Error(error);
        }
    }

    public void Complete() => Forward(inner.Complete);

    private void Forward(Action next)
    {
        if (Release())
        {
            next();
        }
    }

    // Text held back by each guard is released, through the guards after it, before any other event goes out.
    private bool Release()
    {
        if (Stopped)
        {
            return false;
        }

        try
        {
            for (var i = 0; i < guards.Length; i++)
            {
                var text = guards[i].OnTextEnd();
                for (var j = i + 1; j < guards.Length && text.Length > 0; j++)
                {
                    text = guards[j].OnText(text);
                }

                if (text.Length > 0)
                {
                    inner.Text(Json.EncodeLiteral(text));
                }
            }
        }
        catch (LlmGatewayException ex)
        {
            Stop(ex.Error);
            return false;
        }

        return true;
    }

    private void Stop(LlmError error)
    {
        Stopped = true;
        inner.Error(error);
    }
}
