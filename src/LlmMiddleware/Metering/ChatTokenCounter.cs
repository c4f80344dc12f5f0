using LlmMiddleware.Protocols;

namespace LlmMiddleware.Metering;

/// <summary>
/// Counts the prompt tokens of a chat request before it is sent: the text with a tokenizer (see
/// <see cref="LlmTokenizers"/>: the model's, or o200k_base for models without a public one, so Anthropic and Gemini
/// counts are close estimates), plus the chat format's overheads. Used for the router's "fits", expected cost, budget
/// checks, and for metering when a provider reports nothing.
/// </summary>
internal static class ChatTokenCounter
{
    // OpenAI's chat format (tiktoken cookbook): each message is wrapped in 3 tokens, a name adds 1, and the reply is
    // primed with 3. Function definitions are rendered into the system prompt: ~7 tokens each plus ~12 in all.
    private const int PerMessage = 3;
    private const int PerName = 1;
    private const int ReplyPriming = 3;
    private const int PerTool = 7;
    private const int ToolsOverhead = 12;

    /// <summary>The prompt tokens and images of <paramref name="context"/>'s request for its provider, counted with
    /// <paramref name="tokenizer"/> (the provider and model's) once per call.</summary>
    public static (long Tokens, int Images) CountPrompt(LlmRequestContext context, CountingTokenizer tokenizer)
    {
        if (context.CountedPrompt.Tokens < 0)
        {
            context.CountedPrompt = CountPrompt(context.Request, tokenizer, LlmCodec.For(context.ProviderProtocol ?? context.InboundProtocol));
        }

        return context.CountedPrompt;
    }

    /// <summary>Prompt tokens of <paramref name="request"/> counted with <paramref name="tokenizer"/> for a provider
    /// speaking <paramref name="codec"/>'s protocol, and the number of images in it.</summary>
    public static (long Tokens, int Images) CountPrompt(LlmRequest request, CountingTokenizer tokenizer, LlmCodec codec)
    {
        long tokens = ReplyPriming;
        var images = 0;
        if (request.System.Count > 0)
        {
            tokens += PerMessage;
            foreach (var part in request.System)
            {
                tokens += tokenizer.Count(part.Text);
            }
        }

        foreach (var message in request.Messages)
        {
            tokens += PerMessage + (message.Name is null ? 0 : PerName + tokenizer.Count(message.Name));
            foreach (var part in message.Content)
            {
                tokens += CountPart(part, tokenizer, codec, ref images);
            }
        }

        if (request.Tools.Count > 0)
        {
            tokens += ToolsOverhead;
            foreach (var tool in request.Tools)
            {
                tokens += PerTool + tokenizer.Count(tool.Name) + tokenizer.Count(tool.Description ?? "") + tokenizer.Count(tool.ParametersJson);
            }
        }

        return (tokens, images);
    }

    private static long CountPart(LlmContentPart part, CountingTokenizer tokenizer, LlmCodec codec, ref int images)
    {
        switch (part)
        {
            case LlmTextPart text:
                return tokenizer.Count(text.Text);
            case LlmImagePart image:
                images++;
                return codec.ImageTokens(image);
            case LlmToolCallPart call:
                return PerMessage + tokenizer.Count(call.Name) + tokenizer.Count(call.ArgumentsJson);
            case LlmToolResultPart result:
                long total = PerMessage;
                foreach (var inner in result.Content)
                {
                    total += CountPart(inner, tokenizer, codec, ref images);
                }

                return total;
            case LlmReasoningPart reasoning:
                return tokenizer.Count(reasoning.Text);
            case LlmNativePart native:
                return tokenizer.Count(native.Json);
            default:
                return 0;
        }
    }
}
