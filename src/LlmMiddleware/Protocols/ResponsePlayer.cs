namespace LlmMiddleware.Protocols;

/// <summary>Plays a complete <see cref="LlmResponse"/> into a stream sink as one well-formed stream: start, each part
/// as one delta, usage, finish, end. Replays cached answers to streaming callers.</summary>
internal static class ResponsePlayer
{
    public static void Play(LlmResponse response, ILlmStreamSink sink)
    {
        sink.Start(response.Id, response.Model);
        var toolIndex = 0;
        foreach (var part in response.Content)
        {
            switch (part)
            {
                case LlmReasoningPart { RedactedData: null } reasoning:
                    sink.Reasoning(Json.EncodeLiteral(reasoning.Text));
                    if (reasoning.Signature is { } signature)
                    {
                        sink.ReasoningSignature(Json.EncodeLiteral(signature));
                    }

                    break;
                case LlmTextPart text:
                    sink.Text(Json.EncodeLiteral(text.Text));
                    break;
                case LlmToolCallPart call:
                    sink.ToolCallStart(toolIndex, call.Id, call.Name);
                    sink.ToolCallArguments(toolIndex, Json.EncodeLiteral(call.ArgumentsJson));
                    toolIndex++;
                    break;
            }
        }

        sink.Usage(response.Usage);
        sink.Finish(response.FinishReason, response.StopSequence);
        sink.Complete();
    }
}
