namespace LlmMiddleware.Protocols;

/// <summary>
/// Watches a response on its way to the caller: each stream event as it passes, or a complete response at once. How
/// metering counts what was delivered and the response cache captures what it stores.
/// </summary>
internal interface ILlmResponseObserver : ILlmStreamSink
{
    /// <summary>Whether a complete response's content is wanted when the provider reported <paramref name="usage"/>;
    /// a passthrough body is parsed only when some observer wants it.</summary>
    bool WantsContent(in LlmUsage usage) => true;

    /// <summary>A complete (not streamed) response.</summary>
    void OnResponse(LlmResponse response) => ResponsePlayer.Play(response, this);
}

/// <summary>The observers of one call's response, fed as one sink.</summary>
internal sealed class ResponseObservers : ILlmStreamSink
{
    private readonly List<ILlmResponseObserver> _observers = new(2);

    public void Add(ILlmResponseObserver observer) => _observers.Add(observer);

    /// <summary>The observer of type <typeparamref name="T"/> a stage added, if any.</summary>
    public T? Find<T>()
        where T : class, ILlmResponseObserver
    {
        foreach (var observer in _observers)
        {
            if (observer is T found)
            {
                return found;
            }
        }

        return null;
    }

    public bool WantsContent(in LlmUsage usage)
    {
        foreach (var observer in _observers)
        {
            if (observer.WantsContent(usage))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Hands a complete response to the observers that want it.</summary>
    public void OnResponse(LlmResponse response)
    {
        foreach (var observer in _observers)
        {
            if (observer.WantsContent(response.Usage))
            {
                observer.OnResponse(response);
            }
        }
    }

    public void Start(string id, string model)
    {
        foreach (var observer in _observers)
        {
            observer.Start(id, model);
        }
    }

    public void Text(ReadOnlySpan<byte> jsonString)
    {
        foreach (var observer in _observers)
        {
            observer.Text(jsonString);
        }
    }

    public void Reasoning(ReadOnlySpan<byte> jsonString)
    {
        foreach (var observer in _observers)
        {
            observer.Reasoning(jsonString);
        }
    }

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        foreach (var observer in _observers)
        {
            observer.ReasoningSignature(jsonString);
        }
    }

    public void ToolCallStart(int index, string id, string name)
    {
        foreach (var observer in _observers)
        {
            observer.ToolCallStart(index, id, name);
        }
    }

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        foreach (var observer in _observers)
        {
            observer.ToolCallArguments(index, jsonString);
        }
    }

    public void Usage(in LlmUsage usage)
    {
        foreach (var observer in _observers)
        {
            observer.Usage(usage);
        }
    }

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
        foreach (var observer in _observers)
        {
            observer.Finish(reason, stopSequence);
        }
    }

    public void Error(LlmError error)
    {
        foreach (var observer in _observers)
        {
            observer.Error(error);
        }
    }

    public void Complete()
    {
        foreach (var observer in _observers)
        {
            observer.Complete();
        }
    }
}
