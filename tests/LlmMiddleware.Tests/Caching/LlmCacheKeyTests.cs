using System.Text;
using LlmMiddleware.Caching;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.OpenAI;
using Xunit;

namespace LlmMiddleware.Tests.Caching;

/// <summary>The canonical cache key: stable under JSON key order and whitespace, sensitive to every output-changing field.</summary>
public sealed class LlmCacheKeyTests
{
    private const string Base = """
        {"model":"gpt","temperature":0.2,"top_p":0.9,"max_tokens":100,"stop":["END"],"seed":7,
         "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],
         "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}}}],
         "tool_choice":"auto",
         "response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object","properties":{"x":{"type":"number"}}}}}}
        """;

    [Fact]
    public void KeyOrderWhitespaceAndStreamingDoNotChangeTheKey()
    {
        const string reordered = """
            { "seed" : 7, "stream": true, "response_format": {"json_schema": {"schema": {"properties": {"x": {"type": "number"}}, "type": "object"}, "name": "out"}, "type": "json_schema"},
              "tool_choice": "auto", "tools": [ {"function": {"parameters": {"properties": {"b": {"type": "string"}, "a": {"type": "integer"}}, "type": "object"}, "description": "d", "name": "f"}, "type": "function"} ],
              "messages": [ {"content": "Be brief.", "role": "system"}, {"content": "hi", "role": "user"} ],
              "stop": ["END"], "max_tokens": 100, "top_p": 0.9, "temperature": 0.2, "model": "gpt" }
            """;

        Assert.Equal(Key(Base), Key(reordered));
    }

    [Theory]
    [InlineData("\"temperature\":0.2", "\"temperature\":0.3")]
    [InlineData("\"top_p\":0.9", "\"top_p\":0.8")]
    [InlineData("\"max_tokens\":100", "\"max_tokens\":101")]
    [InlineData("[\"END\"]", "[\"STOP\"]")]
    [InlineData("\"seed\":7", "\"seed\":8")]
    [InlineData("Be brief.", "Be verbose.")]
    [InlineData("\"content\":\"hi\"", "\"content\":\"hello\"")]
    [InlineData("\"description\":\"d\"", "\"description\":\"e\"")]
    [InlineData("\"a\":{\"type\":\"integer\"}", "\"a\":{\"type\":\"number\"}")]
    [InlineData("\"tool_choice\":\"auto\"", "\"tool_choice\":\"required\"")]
    [InlineData("\"x\":{\"type\":\"number\"}", "\"y\":{\"type\":\"number\"}")]
    [InlineData("\"name\":\"out\"", "\"name\":\"other\"")]
    [InlineData("\"seed\":7", "\"seed\":7,\"reasoning_effort\":\"high\"")]
    [InlineData("\"seed\":7", "\"seed\":7,\"presence_penalty\":0.5")]
    [InlineData("\"seed\":7", "\"seed\":7,\"frequency_penalty\":0.5")]
    [InlineData("\"seed\":7", "\"seed\":7,\"parallel_tool_calls\":false")]
    [InlineData("\"seed\":7", "\"seed\":7,\"n\":2")]
    public void EachOutputChangingFieldChangesTheKey(string from, string to)
    {
        var changed = Base.Replace(from, to);
        Assert.NotEqual(Base, changed);
        Assert.NotEqual(Key(Base), Key(changed));
    }

    [Fact]
    public void TheResolvedModelAliasAndTenantAreInTheKey()
    {
        var request = Parse(Base);
        var key = LlmCacheKey.Compute(request, "gpt", "openai/gpt-4o-mini", "team-a");

        Assert.NotEqual(key, LlmCacheKey.Compute(request, "gpt", "openai/gpt-4o", "team-a"));
        Assert.NotEqual(key, LlmCacheKey.Compute(request, "cheap", "openai/gpt-4o-mini", "team-a"));
        Assert.NotEqual(key, LlmCacheKey.Compute(request, "gpt", "openai/gpt-4o-mini", "team-b"));
        Assert.NotEqual(key, LlmCacheKey.Compute(request, "gpt", "openai/gpt-4o-mini", null));
        Assert.StartsWith("llm-cache-v2:", key);
    }

    [Fact]
    public void ToolCallArgumentsAreComparedByMeaning()
    {
        const string history = """{"model":"gpt","messages":[{"role":"user","content":"add"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"add","arguments":"ARGS"}}]},{"role":"tool","tool_call_id":"c1","content":"3"}]}""";

        Assert.Equal(Key(history.Replace("ARGS", """{\"a\":1,\"b\":2}""")), Key(history.Replace("ARGS", """{ \"b\": 2, \"a\": 1 }""")));
        Assert.NotEqual(Key(history.Replace("ARGS", """{\"a\":1,\"b\":2}""")), Key(history.Replace("ARGS", """{\"a\":1,\"b\":3}""")));
    }

    private static string Key(string body, LlmProtocol protocol = LlmProtocol.OpenAIChat, string? beta = null)
    {
        var headers = new Microsoft.AspNetCore.Http.HeaderDictionary();
        if (beta is not null)
        {
            headers["anthropic-beta"] = beta;
        }

        var request = LlmCodec.For(protocol).ReadRequest(Encoding.UTF8.GetBytes(body));
        return LlmCacheKey.Compute(request, "gpt", "openai/gpt-4o-mini", "tenant", LlmCacheKey.Unmodeled(request, LlmCodec.For(protocol), headers));
    }

    /// <summary>Fields the parsed request does not model still reach the provider in passthrough: they are keyed as sent.</summary>
    [Theory]
    [InlineData("\"logit_bias\":{\"50256\":-100}")]
    [InlineData("\"logprobs\":true,\"top_logprobs\":2")]
    [InlineData("\"prediction\":{\"type\":\"content\",\"content\":\"x\"}")]
    [InlineData("\"service_tier\":\"flex\"")]
    [InlineData("\"web_search_options\":{}")]
    [InlineData("\"some_new_field\":1")]
    public void FieldsTheParserDoesNotModelAreKeyedAsSent(string field)
    {
        var with = Base.Replace("\"seed\":7", "\"seed\":7," + field);
        Assert.NotEqual(Key(Base), Key(with));
        Assert.Equal(Key(with), Key(with.Replace(":", " : ")));
        Assert.NotEqual(Key(with), Key(with.Replace("\"seed\":7,", "\"seed\":7,\"zzz\":0,")));
    }

    /// <summary>A part the gateway passes through unread may hold an escaped lone surrogate, which has no string value.</summary>
    [Fact]
    public void ALoneSurrogateInAPassedThroughPartIsKeyedByItsText()
    {
        static string WithPart(string text) => $$"""{"model":"gpt","messages":[{"role":"user","content":[{"type":"future_part","text":"{{text}}"}]}]}""";

        Assert.NotEqual(Key(WithPart("\\ud800")), Key(WithPart("\\ud801")));
        Assert.Equal(Key(WithPart("\\ud800")), Key(WithPart("\\ud800")));
    }

    [Fact]
    public void ForwardedAnthropicHeadersAndUnmodeledAnthropicFieldsAreKeyed()
    {
        const string message = """{"model":"gpt","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";
        Assert.NotEqual(Key(message, LlmProtocol.AnthropicMessages), Key(message, LlmProtocol.AnthropicMessages, beta: "context-1m-2025-08-07"));
        Assert.NotEqual(Key(message, LlmProtocol.AnthropicMessages), Key(message.Replace("\"max_tokens\":10", "\"max_tokens\":10,\"container\":\"c1\""), LlmProtocol.AnthropicMessages));

        // Without extras, both protocols asking the same share the key (and so the entry).
        Assert.Equal(Key("""{"model":"gpt","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""), Key(message, LlmProtocol.AnthropicMessages));
    }

    private static LlmRequest Parse(string body) => OpenAICodec.Instance.ReadRequest(Encoding.UTF8.GetBytes(body));

    [Fact]
    public void ThePartitionIgnoresTheConversationOnlyAndSeparatesEmbedders()
    {
        var request = Parse(Base);
        var reworded = Parse(Base.Replace("\"content\":\"hi\"", "\"content\":\"hello there\""));
        var otherSystem = Parse(Base.Replace("Be brief.", "Be verbose."));

        Assert.Equal(Partition(request), Partition(reworded));
        Assert.NotEqual(Partition(request), Partition(otherSystem));
        Assert.NotEqual(Partition(request), LlmCacheKey.ComputePartition(request, "gpt", "gpt-4o", "tenant-b", "lexical-v1"));
        Assert.NotEqual(Partition(request), LlmCacheKey.ComputePartition(request, "gpt", "gpt-4o", "tenant-a", "gateway:text-embedding-3-small"));
        Assert.NotEqual(Partition(request), LlmCacheKey.Compute(request, "gpt", "gpt-4o", "tenant-a"));

        static string Partition(LlmRequest request) => LlmCacheKey.ComputePartition(request, "gpt", "gpt-4o", "tenant-a", "lexical-v1");
    }
}
