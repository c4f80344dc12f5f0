using System.Buffers.Binary;
using LlmMiddleware.Metering;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Tokenizers;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LlmMiddleware.Tests.Metering;

/// <summary>Pre-flight prompt counts: tokenizer counts plus each chat format's overheads.</summary>
public sealed class ChatTokenCounterTests
{
    private static readonly LlmTokenizers BuiltIn = new([], new ServiceCollection().BuildServiceProvider());

    [Fact]
    public void TheHostsTokenizerForTheModelWinsThenTheProvidersThenTiktoken()
    {
        var perModel = TiktokenEncoding.O200kBase.Tokenizer;
        var perProvider = TiktokenEncoding.Cl100kBase.Tokenizer;
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddLlmGateway().AddTokenizer("vllm/llama-3", perModel, "llama-3-tokenizer").AddTokenizer("VLLM", _ => perProvider, "vllm-default");
        using var provider = services.BuildServiceProvider();
        var tokenizers = provider.GetRequiredService<LlmTokenizers>();

        Assert.Equal(("llama-3-tokenizer", perModel), (tokenizers.For("vllm", "LLAMA-3").Name, tokenizers.For("vllm", "LLAMA-3").Tokenizer));
        Assert.Equal("vllm-default", tokenizers.For("vllm", "mistral-7b").Name);
        Assert.Equal("tiktoken:cl100k_base", tokenizers.For("openai", "gpt-4").Name);
        Assert.Equal("tiktoken:o200k_base", tokenizers.For("openai", "gpt-4o").Name);
        Assert.Equal("tiktoken:o200k_base", tokenizers.For("ollama", "llama-3").Name);
        Assert.Same(TiktokenEncoding.O200kBase.Tokenizer, LlmTokenizers.Default.Tokenizer);
    }

    [Fact]
    public void MessagesNamesAndToolsAddOpenAIsOverheads()
    {
        var request = new LlmRequest { Model = "m" };
        request.System.Add(new LlmTextPart("You are terse."));
        request.Messages.Add(new LlmMessage(LlmRole.User) { Name = "ann", Content = { new LlmTextPart("What's 2+2?") } });
        request.Messages.Add(new LlmMessage(LlmRole.Assistant) { Content = { new LlmToolCallPart("c1", "add", """{"a":2,"b":2}""") } });
        request.Tools.Add(new LlmTool("add", "Adds numbers", """{"type":"object"}"""));

        var (tokens, images) = ChatTokenCounter.CountPrompt(request, BuiltIn.For("openai", "gpt-4"), OpenAICodec.Instance);

        var cl100k = TiktokenEncoding.Cl100kBase;
        long expected = 3 // reply priming
            + 3 + cl100k.CountTokens("You are terse.")
            + 3 + 1 + cl100k.CountTokens("ann") + cl100k.CountTokens("What's 2+2?")
            + 3 + 3 + cl100k.CountTokens("add") + cl100k.CountTokens("""{"a":2,"b":2}""")
            + 12 + 7 + cl100k.CountTokens("add") + cl100k.CountTokens("Adds numbers") + cl100k.CountTokens("""{"type":"object"}""");
        Assert.Equal(expected, tokens);
        Assert.Equal(0, images);
    }

    [Fact]
    public void ModelsWithoutAPublicTokenizerAreCountedWithO200k()
    {
        var request = new LlmRequest { Model = "m", Messages = { new LlmMessage(LlmRole.User) { Content = { new LlmTextPart("Bonjour tout le monde") } } } };

        Assert.Equal(6 + TiktokenEncoding.O200kBase.CountTokens("Bonjour tout le monde"), ChatTokenCounter.CountPrompt(request, BuiltIn.For("anthropic", "claude-sonnet-4-5"), AnthropicCodec.Instance).Tokens);
    }

    [Theory]
    [InlineData(1024, 1024, LlmProtocol.OpenAIChat, null, 765)]      // scaled to 768 x 768: 4 tiles
    [InlineData(4096, 2048, LlmProtocol.OpenAIChat, null, 1105)]     // fit to 2048 x 1024, short side to 768: 1536 x 768, 6 tiles
    [InlineData(4096, 2048, LlmProtocol.OpenAIChat, "low", 85)]
    [InlineData(200, 100, LlmProtocol.AnthropicMessages, null, 27)]  // 200 x 100 / 750, rounded up
    [InlineData(3000, 3000, LlmProtocol.AnthropicMessages, null, 1534)] // scaled to about 1.15 megapixels
    [InlineData(3000, 3000, LlmProtocol.Gemini, null, 258)]
    public void ImagesFollowEachProvidersRuleUsingTheRealSize(int width, int height, LlmProtocol protocol, string? detail, int expected)
    {
        var image = new LlmImagePart { MediaType = "image/png", Data = Convert.ToBase64String(PngHeader(width, height)), Detail = detail };

        Assert.Equal(expected, LlmCodec.For(protocol).ImageTokens(image));
    }

    [Fact]
    public void RemoteImagesOfUnknownSizeAreAssumedSquareMegapixel() =>
        Assert.Equal(765, OpenAICodec.Instance.ImageTokens(new LlmImagePart { Url = "https://example.com/cat.jpg" }));

    private static byte[] PngHeader(int width, int height)
    {
        var png = new byte[33];
        new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' }.CopyTo(png, 0);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), (uint)height);
        return png;
    }
}
