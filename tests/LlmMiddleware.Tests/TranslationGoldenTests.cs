using System.Text;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Protocols.Sse;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Tests;

/// <summary>Golden translation tests: every direction, complete and streamed.</summary>
public sealed class TranslationGoldenTests
{
    public enum Target
    {
        OpenAI,
        Mistral,
        Anthropic,
        Gemini,
    }

    private static LlmRequest ReadRequest(string file) =>
        file.StartsWith("anthropic", StringComparison.Ordinal)
            ? AnthropicRequestReader.Read(Encoding.UTF8.GetBytes(Golden.Read("Requests/" + file)))
            : OpenAIRequestReader.Read(Encoding.UTF8.GetBytes(Golden.Read("Requests/" + file)));

    internal static string WriteRequest(LlmRequest request, Target target, TranslationState state)
    {
        using var output = new PooledBufferWriter();
        switch (target)
        {
            case Target.Anthropic:
                AnthropicRequestWriter.Write(request, "claude-sonnet-4-5", 4096, state, output);
                break;
            case Target.Gemini:
                GeminiRequestWriter.Write(request, output);
                break;
            case Target.Mistral:
                OpenAIRequestWriter.Write(request, "mistral-large-latest", OpenAIDialect.LegacyMaxTokens | OpenAIDialect.NoStreamOptions | OpenAIDialect.NoMessageName | OpenAIDialect.NineCharacterToolIds, state, output);
                break;
            default:
                OpenAIRequestWriter.Write(request, "gpt-4o", OpenAIDialect.None, state, output);
                break;
        }

        return Golden.Pretty(output.WrittenSpan);
    }

    [Theory]
    [InlineData("openai-full.json", Target.Anthropic)]
    [InlineData("openai-full.json", Target.Gemini)]
    [InlineData("openai-full.json", Target.Mistral)]
    [InlineData("openai-full.json", Target.OpenAI)]
    [InlineData("openai-json-reasoning.json", Target.Anthropic)]
    [InlineData("openai-json-reasoning.json", Target.Gemini)]
    [InlineData("openai-json-reasoning.json", Target.OpenAI)]
    [InlineData("anthropic-full.json", Target.OpenAI)]
    [InlineData("anthropic-full.json", Target.Gemini)]
    [InlineData("anthropic-full.json", Target.Anthropic)]
    public void RequestTranslation(string file, Target target)
    {
        var translated = WriteRequest(ReadRequest(file), target, new TranslationState());

        Golden.AssertMatches($"Requests/{Path.GetFileNameWithoutExtension(file)}.to-{target.ToString().ToLowerInvariant()}.json", translated);
    }

    [Theory]
    [InlineData("anthropic.json", LlmProtocol.AnthropicMessages, LlmProtocol.OpenAIChat)]
    [InlineData("openai.json", LlmProtocol.OpenAIChat, LlmProtocol.AnthropicMessages)]
    [InlineData("gemini.json", LlmProtocol.Gemini, LlmProtocol.OpenAIChat)]
    [InlineData("gemini.json", LlmProtocol.Gemini, LlmProtocol.AnthropicMessages)]
    public void ResponseTranslation(string file, LlmProtocol upstream, LlmProtocol client)
    {
        var response = LlmCodec.For(upstream).ReadResponse(Encoding.UTF8.GetBytes(Golden.Read("Responses/" + file)), new TranslationState());
        using var output = new PooledBufferWriter();
        LlmCodec.For(client).WriteResponse(response, output);

        Golden.AssertMatches($"Responses/{Path.GetFileNameWithoutExtension(file)}.to-{(client == LlmProtocol.OpenAIChat ? "openai" : "anthropic")}.json", Golden.Pretty(output.WrittenSpan));
    }

    [Theory]
    [InlineData("anthropic.sse", LlmProtocol.AnthropicMessages, LlmProtocol.OpenAIChat)]
    [InlineData("openai-parallel-tools.sse", LlmProtocol.OpenAIChat, LlmProtocol.AnthropicMessages)]
    [InlineData("openai-parallel-tools.sse", LlmProtocol.OpenAIChat, LlmProtocol.OpenAIChat)]
    [InlineData("gemini.sse", LlmProtocol.Gemini, LlmProtocol.OpenAIChat)]
    [InlineData("gemini.sse", LlmProtocol.Gemini, LlmProtocol.AnthropicMessages)]
    [InlineData("openai-compatible-quirks.sse", LlmProtocol.OpenAIChat, LlmProtocol.OpenAIChat)]
    [InlineData("openai-compatible-quirks.sse", LlmProtocol.OpenAIChat, LlmProtocol.AnthropicMessages)]
    public async Task StreamTranslation(string file, LlmProtocol upstream, LlmProtocol client)
    {
        var input = Encoding.UTF8.GetBytes(Golden.Read("Streams/" + file));

        // Delivered a few bytes at a time: events split across reads must come out the same.
        var translated = await StreamTranslator.TranslateAsync(input, upstream, client, readSize: 7);
        var whole = await StreamTranslator.TranslateAsync(input, upstream, client, readSize: 1 << 16);

        Assert.Equal(Normalize(whole), Normalize(translated));
        Golden.AssertMatches($"Streams/{Path.GetFileNameWithoutExtension(file)}.to-{(client == LlmProtocol.OpenAIChat ? "openai" : "anthropic")}.sse", translated);
    }

    private static string Normalize(string sse) => System.Text.RegularExpressions.Regex.Replace(sse, "call_[0-9a-f]{16}(__thsig__[A-Za-z0-9_-]+)?", "call_x");
}

/// <summary>Runs the gateway's stream translation over an in-memory upstream body.</summary>
internal static class StreamTranslator
{
    public static async Task<string> TranslateAsync(byte[] upstreamBody, LlmProtocol upstream, LlmProtocol client, int readSize, bool includeUsage = true)
    {
        var output = new PooledBufferWriter();
        var state = new TranslationState();
        var reader = LlmCodec.For(upstream).CreateStreamReader(state);
        var writer = LlmCodec.For(client).CreateStreamWriter(output, includeUsage, 1741570283);
        using var sse = new SseReader();
        using var body = new TrickleStream(upstreamBody, readSize);
        while (await sse.FillAsync(body, CancellationToken.None))
        {
            reader.ReadBuffered(sse, writer);
        }

        if (sse.TryReadTrailing(out var name, out var data))
        {
            reader.OnEvent(name, data, writer);
        }

        reader.OnEndOfStream(writer, finishSeen: false);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        output.Dispose();
        return text;
    }

    private sealed class TrickleStream(byte[] data, int readSize) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, readSize)], cancellationToken);
    }
}
