using BenchmarkDotNet.Attributes;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Benchmarks;

/// <summary>Non-streamed response translation per call. Baseline: reading usage from a passthrough body.</summary>
[MemoryDiagnoser]
public class ResponseTranslationBenchmarks
{
    private readonly PooledBufferWriter _output = new(8192);

    [Benchmark(Baseline = true, Description = "OpenAI → OpenAI passthrough (usage read)")]
    public long Passthrough() => OpenAICodec.Instance.ReadUsage(Payloads.OpenAIResponse).TotalTokens;

    [Benchmark(Description = "Anthropic → OpenAI")]
    public int AnthropicToOpenAI()
    {
        _output.Clear();
        OpenAIResponseCodec.Write(AnthropicCodec.Instance.ReadResponse(Payloads.AnthropicResponse, new TranslationState()), _output);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "OpenAI → Anthropic")]
    public int OpenAIToAnthropic()
    {
        _output.Clear();
        AnthropicResponseCodec.Write(OpenAICodec.Instance.ReadResponse(Payloads.OpenAIResponse, new TranslationState()), _output);
        return _output.WrittenCount;
    }
}
