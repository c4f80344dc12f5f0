using System.Buffers.Binary;

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

    /// <summary>Prompt tokens of <paramref name="request"/> counted with <paramref name="tokenizer"/> for a provider
    /// speaking <paramref name="protocol"/>, and the number of images in it.</summary>
    public static (long Tokens, int Images) CountPrompt(LlmRequest request, CountingTokenizer tokenizer, LlmProtocol protocol)
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
                tokens += CountPart(part, tokenizer, protocol, ref images);
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

    private static long CountPart(LlmContentPart part, CountingTokenizer tokenizer, LlmProtocol protocol, ref int images)
    {
        switch (part)
        {
            case LlmTextPart text:
                return tokenizer.Count(text.Text);
            case LlmImagePart image:
                images++;
                return ImageTokens(image, protocol);
            case LlmToolCallPart call:
                return PerMessage + tokenizer.Count(call.Name) + tokenizer.Count(call.ArgumentsJson);
            case LlmToolResultPart result:
                long total = PerMessage;
                foreach (var inner in result.Content)
                {
                    total += CountPart(inner, tokenizer, protocol, ref images);
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

    /// <summary>
    /// Image tokens by each provider's published rule: OpenAI 85 plus 170 per 512-px tile after scaling (85 at low
    /// detail), Anthropic width × height / 750 (at most about 1,600), Gemini 258. Sizes are read from PNG, GIF and JPEG
    /// data; a remote image of unknown size is assumed to be 1024 × 1024.
    /// </summary>
    internal static int ImageTokens(LlmImagePart image, LlmProtocol protocol)
    {
        if (protocol == LlmProtocol.Gemini)
        {
            return 258;
        }

        var (width, height) = TryReadSize(image) ?? (1024, 1024);
        if (protocol == LlmProtocol.AnthropicMessages)
        {
            // Anthropic scales images down to fit 1568 px on the long side and about 1.15 megapixels.
            var scale = Math.Min(1.0, Math.Min(1568.0 / Math.Max(width, height), Math.Sqrt(1_150_000.0 / ((double)width * height))));
            return (int)Math.Ceiling(width * scale * (height * scale) / 750);
        }

        if (string.Equals(image.Detail, "low", StringComparison.OrdinalIgnoreCase))
        {
            return 85;
        }

        // Fit within 2048 × 2048, then scale the short side down to 768, then count 512-px tiles.
        double w = width, h = height;
        var fit = Math.Min(1.0, 2048.0 / Math.Max(w, h));
        w *= fit;
        h *= fit;
        var shortSide = Math.Min(w, h);
        if (shortSide > 768)
        {
            w *= 768 / shortSide;
            h *= 768 / shortSide;
        }

        return 85 + (170 * (int)Math.Ceiling(w / 512) * (int)Math.Ceiling(h / 512));
    }

    private static (int Width, int Height)? TryReadSize(LlmImagePart image)
    {
        // The header is in the first few hundred bytes; decode only those.
        Span<byte> head = stackalloc byte[768];
        int length;
        if (!image.Bytes.IsEmpty)
        {
            length = Math.Min(head.Length, image.Bytes.Length);
            image.Bytes.Span[..length].CopyTo(head);
        }
        else
        {
            var data = image.Data;
            if (data is null && image.Url is { } url && Protocols.DataUrl.TryParse(url, out _, out var inline))
            {
                data = inline;
            }

            if (data is null || !Convert.TryFromBase64Chars(data.AsSpan(0, Math.Min(data.Length, 1024) & ~3), head, out length))
            {
                return null;
            }
        }

        head = head[..length];
        if (length >= 24 && head[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return ((int)BinaryPrimitives.ReadUInt32BigEndian(head[16..]), (int)BinaryPrimitives.ReadUInt32BigEndian(head[20..]));
        }

        if (length >= 10 && head[..3].SequenceEqual("GIF"u8))
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(head[6..]), BinaryPrimitives.ReadUInt16LittleEndian(head[8..]));
        }

        // JPEG: walk the segments to the start-of-frame marker.
        for (var i = 2; length >= 4 && head[0] == 0xFF && head[1] == 0xD8 && i + 9 < length;)
        {
            if (head[i] != 0xFF)
            {
                break;
            }

            var marker = head[i + 1];
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return (BinaryPrimitives.ReadUInt16BigEndian(head[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(head[(i + 5)..]));
            }

            i += 2 + BinaryPrimitives.ReadUInt16BigEndian(head[(i + 2)..]);
        }

        return null;
    }
}
