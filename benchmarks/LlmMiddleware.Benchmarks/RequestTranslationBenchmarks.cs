using BenchmarkDotNet.Attributes;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Benchmarks;

/// <summary>Request translation per call: parse the caller's body and write the provider's. Baseline: passthrough.</summary>
[MemoryDiagnoser]
public class RequestTranslationBenchmarks
{
    private readonly PooledBufferWriter _output = new(8192);

    [Benchmark(Baseline = true, Description = "OpenAI → OpenAI passthrough (model rewrite)")]
    public int Passthrough()
    {
        _output.Clear();
        JsonModelRewriter.Rewrite(Payloads.OpenAIRequest, "gpt-4o-mini", _output);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "OpenAI → Anthropic")]
    public int OpenAIToAnthropic()
    {
        _output.Clear();
        AnthropicRequestWriter.Write(OpenAIRequestReader.Read(Payloads.OpenAIRequest), "claude-sonnet-4-5", 4096, new TranslationState(), _output);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "OpenAI → Gemini")]
    public int OpenAIToGemini()
    {
        _output.Clear();
        GeminiRequestWriter.Write(OpenAIRequestReader.Read(Payloads.OpenAIRequest), _output);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "Anthropic → OpenAI")]
    public int AnthropicToOpenAI()
    {
        _output.Clear();
        OpenAIRequestWriter.Write(AnthropicRequestReader.Read(Payloads.AnthropicRequest), "gpt-4o-mini", OpenAIDialect.None, new TranslationState(), _output);
        return _output.WrittenCount;
    }
}
