using BenchmarkDotNet.Attributes;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Translation of one upstream stream event into the caller's protocol, as the relay does it for every chunk
/// (the reader and writer are per-stream state, set up once). Baseline: copying the chunk's bytes unchanged.
/// </summary>
[MemoryDiagnoser]
public class StreamChunkBenchmarks
{
    private readonly PooledBufferWriter _output = new(64 * 1024);
    private LlmStreamReader _anthropicReader = null!;
    private ILlmStreamSink _toOpenAI = null!;
    private LlmStreamReader _openAIReader = null!;
    private ILlmStreamSink _toAnthropic = null!;
    private LlmStreamReader _openAIToolReader = null!;
    private ILlmStreamSink _toAnthropicTools = null!;
    private LlmStreamReader _geminiReader = null!;
    private ILlmStreamSink _geminiToOpenAI = null!;
    private LlmStreamReader _anthropicToResponsesReader = null!;
    private ILlmStreamSink _toResponses = null!;
    private int _responsesEvents;

    [GlobalSetup]
    public void Setup()
    {
        _anthropicReader = LlmCodec.For(LlmProtocol.AnthropicMessages).CreateStreamReader(new TranslationState());
        _toOpenAI = LlmCodec.For(LlmProtocol.OpenAIChat).CreateStreamWriter(_output, includeUsage: true, 1);
        _anthropicReader.OnEvent("message_start"u8, """{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}}"""u8, _toOpenAI);

        _openAIReader = LlmCodec.For(LlmProtocol.OpenAIChat).CreateStreamReader(new TranslationState());
        _toAnthropic = LlmCodec.For(LlmProtocol.AnthropicMessages).CreateStreamWriter(_output, includeUsage: true, 1);
        _openAIReader.OnEvent(default, Payloads.OpenAITextChunk, _toAnthropic);

        _openAIToolReader = LlmCodec.For(LlmProtocol.OpenAIChat).CreateStreamReader(new TranslationState());
        _toAnthropicTools = LlmCodec.For(LlmProtocol.AnthropicMessages).CreateStreamWriter(_output, includeUsage: true, 1);
        _openAIToolReader.OnEvent(default, """{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"""u8, _toAnthropicTools);

        _geminiReader = LlmCodec.For(LlmProtocol.Gemini).CreateStreamReader(new TranslationState());
        _geminiToOpenAI = LlmCodec.For(LlmProtocol.OpenAIChat).CreateStreamWriter(_output, includeUsage: true, 1);
        _geminiReader.OnEvent(default, Payloads.GeminiTextChunk, _geminiToOpenAI);
        StartResponsesStream();
    }

    // A Responses stream keeps each item's text for its done events and the final response: a fresh stream every
    // 4,096 events keeps that bounded, as real answers are (its set-up is amortized into the events).
    private void StartResponsesStream()
    {
        _anthropicToResponsesReader = LlmCodec.For(LlmProtocol.AnthropicMessages).CreateStreamReader(new TranslationState());
        _toResponses = LlmCodec.For(LlmProtocol.OpenAIResponses).CreateStreamWriter(_output, includeUsage: true, 1);
        _anthropicToResponsesReader.OnEvent("message_start"u8, """{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}}"""u8, _toResponses);
        _anthropicToResponsesReader.OnEvent("content_block_start"u8, """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""u8, _toResponses);
    }

    [Benchmark(Baseline = true, Description = "passthrough (copy chunk)")]
    public int Passthrough()
    {
        _output.Clear();
        Json.Write(_output, "data: "u8);
        Json.Write(_output, Payloads.OpenAITextChunk);
        Json.Write(_output, "\n\n"u8);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "Anthropic text_delta → OpenAI chunk")]
    public int AnthropicTextToOpenAI()
    {
        _output.Clear();
        _anthropicReader.OnEvent(Payloads.AnthropicTextDeltaName, Payloads.AnthropicTextDelta, _toOpenAI);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "OpenAI text chunk → Anthropic event")]
    public int OpenAITextToAnthropic()
    {
        _output.Clear();
        _openAIReader.OnEvent(default, Payloads.OpenAITextChunk, _toAnthropic);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "OpenAI tool-args chunk → Anthropic event")]
    public int OpenAIToolArgumentsToAnthropic()
    {
        _output.Clear();
        _openAIToolReader.OnEvent(default, Payloads.OpenAIToolArgumentsChunk, _toAnthropicTools);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "Gemini text chunk → OpenAI chunk")]
    public int GeminiTextToOpenAI()
    {
        _output.Clear();
        _geminiReader.OnEvent(default, Payloads.GeminiTextChunk, _geminiToOpenAI);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "Anthropic text_delta → Responses event")]
    public int AnthropicTextToResponses()
    {
        if (++_responsesEvents % 4096 == 0)
        {
            StartResponsesStream();
        }

        _output.Clear();
        _anthropicToResponsesReader.OnEvent(Payloads.AnthropicTextDeltaName, Payloads.AnthropicTextDelta, _toResponses);
        return _output.WrittenCount;
    }
}
