using System.Text;

namespace LlmMiddleware.Benchmarks;

/// <summary>Representative small bodies and stream events.</summary>
internal static class Payloads
{
    public static readonly byte[] OpenAIRequest = Encoding.UTF8.GetBytes("""
        {"model":"gpt","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the weather in Paris today?"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
         "temperature":0.7,"max_completion_tokens":256}
        """);

    public static readonly byte[] AnthropicRequest = Encoding.UTF8.GetBytes("""
        {"model":"claude","max_tokens":256,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"What is the weather in Paris today?"}],
         "tools":[{"name":"get_weather","description":"Weather by city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
         "temperature":0.7}
        """);

    public static readonly byte[] AnthropicResponse = Encoding.UTF8.GetBytes("""
        {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello! How can I help you today?"}],
         "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}
        """);

    public static readonly byte[] OpenAIResponse = Encoding.UTF8.GetBytes("""
        {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null},"logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}
        """);

    public static readonly byte[] AnthropicTextDeltaName = "content_block_delta"u8.ToArray();

    public static readonly byte[] AnthropicTextDelta = """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather in Paris is mild today,"}}"""u8.ToArray();

    public static readonly byte[] OpenAITextChunk = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1753357673,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" the weather in Paris is mild today,"},"logprobs":null,"finish_reason":null}],"usage":null}"""u8.ToArray();

    public static readonly byte[] OpenAIToolArgumentsChunk = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1753357673,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}"""u8.ToArray();

    public static readonly byte[] GeminiTextChunk = """{"candidates":[{"content":{"role":"model","parts":[{"text":" the weather in Paris is mild today,"}]},"index":0}],"usageMetadata":{"trafficType":"ON_DEMAND"},"modelVersion":"gemini-2.5-flash","responseId":"tTCw"}"""u8.ToArray();
}
