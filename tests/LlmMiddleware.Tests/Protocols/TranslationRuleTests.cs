using System.Text;
using System.Text.Json;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Tests.Protocols;

/// <summary>Single translation rules, each of which a provider enforces.</summary>
public sealed class TranslationRuleTests
{
    private static JsonElement ToAnthropic(string openAIRequest, TranslationState? state = null)
    {
        using var output = new PooledBufferWriter();
        AnthropicRequestWriter.Write(OpenAIRequestReader.Read(Encoding.UTF8.GetBytes(openAIRequest)), "claude", 4096, state ?? new TranslationState(), output);
        return JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement;
    }

    private static JsonElement ToOpenAI(string anthropicRequest, TranslationState state, OpenAIDialect dialect = OpenAIDialect.None)
    {
        using var output = new PooledBufferWriter();
        OpenAIRequestWriter.Write(AnthropicRequestReader.Read(Encoding.UTF8.GetBytes(anthropicRequest)), "gpt", dialect, state, output);
        return JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement;
    }

    [Theory]
    [InlineData("""{"type":"adaptive"}""", null, null, -1)] // on, at each provider's default depth
    [InlineData("""{"type":"adaptive"},"output_config":{"effort":"high"}""", "high", "high", 24576)]
    [InlineData("""{"type":"adaptive"},"output_config":{"effort":"low"}""", "low", "low", 1024)]
    [InlineData("""{"type":"enabled","budget_tokens":3000}""", null, "medium", 3000)] // a budget reaches only reasoning models
    [InlineData("""{"type":"disabled"}""", null, "none", 0)]
    public void AnthropicThinkingReachesOpenAIAndGeminiAsTheirOwnReasoning(string thinking, string? toGpt4o, string? toO3, int geminiBudget)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"m","max_tokens":5000,"thinking":{{thinking}},"messages":[{"role":"user","content":"hi"}]}""");
        string? Effort(string model)
        {
            using var output = new PooledBufferWriter();
            OpenAIRequestWriter.Write(AnthropicRequestReader.Read(body), model, OpenAIDialect.None, new TranslationState(), output);
            return JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement.TryGetProperty("reasoning_effort", out var effort) ? effort.GetString() : null;
        }

        using var gemini = new PooledBufferWriter();
        GeminiRequestWriter.Write(AnthropicRequestReader.Read(body), gemini);
        var budget = JsonDocument.Parse(gemini.WrittenMemory.ToArray()).RootElement.GetProperty("generationConfig").GetProperty("thinkingConfig").GetProperty("thinkingBudget").GetInt32();

        Assert.Equal((toGpt4o, toO3, geminiBudget), (Effort("gpt-4o"), Effort("o3"), budget));
    }

    [Fact]
    public void MidConversationSystemMessagesStayInPlaceForEachProviderInItsOwnTerms()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"model":"m","max_tokens":100,"system":"Be brief.","messages":[
              {"role":"user","content":"hi"},
              {"role":"system","content":[{"type":"text","text":"Tools changed.","cache_control":{"type":"ephemeral"}}]},
              {"role":"assistant","content":"hello"},
              {"role":"user","content":"again"},
              {"role":"system","content":"Skills: none."}]}
            """);

        using var anthropic = new PooledBufferWriter();
        AnthropicRequestWriter.Write(AnthropicRequestReader.Read(body), "claude", 4096, new TranslationState(), anthropic);
        var toAnthropic = JsonDocument.Parse(anthropic.WrittenMemory.ToArray()).RootElement.GetProperty("messages");
        Assert.Equal(["user", "system", "assistant", "user", "system"], toAnthropic.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("ephemeral", toAnthropic[1].GetProperty("content")[0].GetProperty("cache_control").GetProperty("type").GetString());

        var toOpenAI = ToOpenAI(Encoding.UTF8.GetString(body), new TranslationState()).GetProperty("messages");
        Assert.Equal(["system", "user", "system", "assistant", "user", "system"], toOpenAI.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Tools changed.", toOpenAI[2].GetProperty("content").GetString());

        using var gemini = new PooledBufferWriter();
        GeminiRequestWriter.Write(AnthropicRequestReader.Read(body), gemini);
        var contents = JsonDocument.Parse(gemini.WrittenMemory.ToArray()).RootElement.GetProperty("contents");
        Assert.Equal(["user", "model", "user"], contents.EnumerateArray().Select(c => c.GetProperty("role").GetString()));
        Assert.Equal(["hi", "Tools changed."], contents[0].GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        Assert.Equal(["again", "Skills: none."], contents[2].GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("text").GetString()));
    }

    [Theory]
    [InlineData("""{"role":"tool","content":"x"}""", "messages.1.role: Input should be 'user', 'assistant' or 'system'")]
    [InlineData("""{"role":"system","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}""", "messages.1.content: system messages hold text blocks only")]
    public void MessagesOfAnotherRoleOrSystemMessagesOfOtherContentAreRefused(string message, string error)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hi"},{{message}}]}""");

        Assert.Equal(error, Assert.Throws<LlmGatewayException>(() => AnthropicRequestReader.Read(body)).Message);
    }

    [Fact]
    public void AnImageHeldAsBytesIsWrittenAsBase64ToEveryProvider()
    {
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0xFB, 0xFF]; // base64 with '+' and '/'
        var request = new LlmRequest { Model = "m" };
        request.Messages.Add(new LlmMessage(LlmRole.User) { Content = { new LlmImagePart { MediaType = "image/png", Bytes = png } } });
        var base64 = Convert.ToBase64String(png);

        using var gemini = new PooledBufferWriter();
        GeminiRequestWriter.Write(request, gemini);
        using var anthropic = new PooledBufferWriter();
        AnthropicRequestWriter.Write(request, "claude", 4096, new TranslationState(), anthropic);
        using var openAI = new PooledBufferWriter();
        OpenAIRequestWriter.Write(request, "gpt", OpenAIDialect.None, new TranslationState(), openAI);

        Assert.Equal(base64, Parse(gemini).GetProperty("contents")[0].GetProperty("parts")[0].GetProperty("inlineData").GetProperty("data").GetString());
        Assert.Equal(base64, Parse(anthropic).GetProperty("messages")[0].GetProperty("content")[0].GetProperty("source").GetProperty("data").GetString());
        Assert.Equal("data:image/png;base64," + base64, Parse(openAI).GetProperty("messages")[0].GetProperty("content")[0].GetProperty("image_url").GetProperty("url").GetString());

        static JsonElement Parse(PooledBufferWriter output) => JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement;
    }

    [Fact]
    public void FieldsAreRecognisedByNameHoweverTheyAreSpelledInJson()
    {
        // An escaped name of a modeled field is still that field (not forwarded raw beside it); a long or non-ASCII
        // unknown name is kept raw as it came.
        var request = OpenAIRequestReader.Read(Encoding.UTF8.GetBytes(
            """{"model":"m","messages":[{"role":"user","content":"hi"}],"temper\u0061ture":0.5,"x_field_with_a_name_longer_than_sixty_four_characters_is_still_kept_raw":1,"prüfung":true}"""));

        Assert.Equal(0.5, request.Temperature);
        Assert.Equal(["x_field_with_a_name_longer_than_sixty_four_characters_is_still_kept_raw", "prüfung"], request.UnmodeledFields!.Select(f => f.Key));
    }

    [Fact]
    public void ModelRewriteKeepsEveryOtherByte()
    {
        const string body = "{ \"messages\" : [{\"role\":\"user\",\"content\":\"model\"}], \"model\":\"alias\",\"extra\":{\"model\":\"inner\"} }";
        using var output = new PooledBufferWriter();

        JsonModelRewriter.Rewrite(Encoding.UTF8.GetBytes(body), "gpt-4o", output);

        Assert.Equal(body.Replace("\"alias\"", "\"gpt-4o\""), Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("toolu_01-Ab", "toolu_01-Ab")]
    [InlineData("call.a/b c", "call_a_b_c")]
    public void ToolIdsAreSanitizedToTheSharedAlphabet(string id, string expected) => Assert.Equal(expected, ToolSchemas.SanitizeId(id));

    [Fact]
    public void LongIdsAreShortenedDeterministically()
    {
        var id = "call_" + new string('x', 100);

        Assert.Equal(40, ToolSchemas.SanitizeId(id, 40).Length);
        Assert.Equal(ToolSchemas.SanitizeId(id, 40), ToolSchemas.SanitizeId(id, 40));
        Assert.Matches("^[a-zA-Z0-9]{9}$", ToolSchemas.NineCharacterId(id));
        Assert.Equal(ToolSchemas.NineCharacterId(id), ToolSchemas.NineCharacterId(id));
    }

    [Fact]
    public void GeminiThoughtSignaturesRoundTripThroughToolCallIds()
    {
        const string signature = "AY89a1+/sig==";
        var id = GeminiThoughtSignatures.CreateCallId(signature);

        Assert.Matches("^[a-zA-Z0-9_-]+$", id);
        Assert.Equal(signature, GeminiThoughtSignatures.Extract(id));
        Assert.Null(GeminiThoughtSignatures.Extract("call_plain"));
    }

    [Fact]
    public void AssistantToolTurnWithoutTextHasNoEmptyTextBlock()
    {
        var request = ToAnthropic("""
            {"model":"m","messages":[
              {"role":"user","content":"q"},
              {"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"r"}]}
            """);

        var assistant = request.GetProperty("messages")[1].GetProperty("content");
        Assert.Equal(1, assistant.GetArrayLength());
        Assert.Equal("tool_use", assistant[0].GetProperty("type").GetString());
    }

    [Fact]
    public void ToolHistoryWithoutToolsDeclaresTheToolsItNames()
    {
        var request = ToAnthropic("""
            {"model":"m","messages":[
              {"role":"user","content":"q"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"r"}]}
            """);

        Assert.Equal("lookup", request.GetProperty("tools")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void ThinkingBudgetLiftsMaxTokensAndDropsSamplingAndForcedToolChoice()
    {
        var request = ToAnthropic("""
            {"model":"m","max_completion_tokens":1000,"reasoning_effort":"high","temperature":0.2,"tool_choice":"required",
             "tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"q"}]}
            """);

        Assert.Equal(4096, request.GetProperty("thinking").GetProperty("budget_tokens").GetInt32());
        Assert.True(request.GetProperty("max_tokens").GetInt32() > 4096);
        Assert.False(request.TryGetProperty("temperature", out _));
        Assert.Equal("auto", request.GetProperty("tool_choice").GetProperty("type").GetString());
    }

    [Fact]
    public void LongAnthropicToolNamesAreShortenedForOpenAIAndRestoredInResponses()
    {
        var longName = "namespace.tool." + new string('n', 80);
        var state = new TranslationState();
        var request = ToOpenAI($$$"""{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"{{{longName}}}","input_schema":{"type":"object"}}]}""", state);
        var sent = request.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString()!;

        Assert.Matches("^[a-zA-Z0-9_-]{1,64}$", sent);
        var response = OpenAIResponseCodec.Read(Encoding.UTF8.GetBytes($$$"""
            {"id":"x","model":"m","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":null,
             "tool_calls":[{"id":"c","type":"function","function":{"name":"{{{sent}}}","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}
            """), state);
        Assert.Equal(longName, Assert.IsType<LlmToolCallPart>(response.Content[0]).Name);
    }

    [Fact]
    public void AnthropicJsonModeAnswerComesBackAsText()
    {
        var state = new TranslationState();
        ToAnthropic("""{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"q"}]}""", state);

        var response = AnthropicResponseCodec.Read(Encoding.UTF8.GetBytes("""
            {"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{"type":"tool_use","id":"t","name":"json_tool_call","input":{"a":1}}],
             "stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}
            """), state);

        Assert.True(state.JsonToolMode);
        Assert.Equal("""{"a":1}""", Assert.IsType<LlmTextPart>(Assert.Single(response.Content)).Text);
        Assert.Equal(LlmFinishReason.Stop, response.FinishReason);
    }

    [Theory]
    [InlineData(529, LlmProtocol.OpenAIChat, 503)]
    [InlineData(503, LlmProtocol.AnthropicMessages, 529)]
    [InlineData(429, LlmProtocol.AnthropicMessages, 429)]
    public void OverloadedStatusIsTranslated(int upstream, LlmProtocol client, int expected)
    {
        var error = Errors.Read(upstream, """{"error":{"type":"overloaded_error","message":"busy"}}"""u8);

        Assert.Equal(expected, LlmCodec.For(client).StatusFor(error));
    }

    [Theory]
    [InlineData("""{"error":{"message":"m","type":"invalid_request_error","code":"bad"}}""", 400, LlmErrorKind.InvalidRequest)]
    [InlineData("""{"type":"error","error":{"type":"rate_limit_error","message":"m"}}""", 429, LlmErrorKind.RateLimit)]
    [InlineData("""{"error":{"code":429,"message":"m","status":"RESOURCE_EXHAUSTED"}}""", 429, LlmErrorKind.RateLimit)]
    [InlineData("<html>bad gateway</html>", 502, LlmErrorKind.Server)]
    public void ErrorsOfEveryShapeAreRead(string body, int status, LlmErrorKind kind)
    {
        var error = Errors.Read(status, Encoding.UTF8.GetBytes(body));

        Assert.Equal(kind, error.Kind);
        Assert.Equal(status, error.Status);
    }

    [Fact]
    public void GeminiSchemasLoseKeywordsGeminiRejects()
    {
        using var schema = JsonDocument.Parse("""{"$schema":"x","type":"object","additionalProperties":false,"properties":{"additionalProperties":{"type":"string","$ref":"#/a"}}}""");
        using var output = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(output))
        {
            ToolSchemas.WriteGeminiSchema(writer, schema.RootElement);
        }

        // A property that happens to be named "additionalProperties" is kept; the keyword is not.
        Assert.Equal("""{"type":"object","properties":{"additionalProperties":{"type":"string"}}}""", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("2606:4700::1111", true)]
    public void ImageDownloadsReachOnlyPublicAddresses(string address, bool isPublic) =>
        Assert.Equal(isPublic, LlmMiddleware.Upstream.GuardedHttp.IsPublic(System.Net.IPAddress.Parse(address)));

    private const string EveryKnob = """
        {"model":"m","messages":[{"role":"user","name":"ann","content":"q"}],"tools":[{"type":"function","function":{"name":"f"}}],
         "tool_choice":"required","parallel_tool_calls":false,"presence_penalty":0.1,"frequency_penalty":0.2,"stop":["x"],"seed":3,
         "user":"u1","n":1,"max_completion_tokens":50,"stream":true}
        """;

    [Theory]
    [InlineData("openai", "gpt-4o", "name,parallel_tool_calls,presence_penalty,frequency_penalty,stop,seed,user,max_completion_tokens,stream_options,n", "")]
    [InlineData("groq", "llama-3.1-8b-instant", "parallel_tool_calls,presence_penalty,stop,seed,user,max_completion_tokens,stream_options", "name,n")]
    [InlineData("cerebras", "llama3.1-8b", "name,stop,seed,max_completion_tokens", "parallel_tool_calls,presence_penalty,frequency_penalty")]
    [InlineData("mistral", "mistral-large-latest", "max_tokens,random_seed,parallel_tool_calls,stop", "name,max_completion_tokens,stream_options,seed,user")]
    [InlineData("xai", "grok-4", "name,max_completion_tokens,seed", "presence_penalty,frequency_penalty,stop")]
    [InlineData("xai", "grok-2", "presence_penalty,stop", "")]
    public void PresetDialectsSendOnlyWhatTheProviderAccepts(string preset, string model, string present, string absent)
    {
        using var output = new PooledBufferWriter();
        OpenAIRequestWriter.Write(OpenAIRequestReader.Read(Encoding.UTF8.GetBytes(EveryKnob)), model, LlmMiddleware.Providers.ProviderPresets.All[preset].Dialect, new TranslationState(), output);
        var json = JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement;

        bool Has(string field) => field == "name" ? json.GetProperty("messages")[0].TryGetProperty("name", out _) : json.TryGetProperty(field, out _);
        Assert.All(present.Split(',', StringSplitOptions.RemoveEmptyEntries), f => Assert.True(Has(f), $"{preset} should send {f}"));
        Assert.All(absent.Split(',', StringSplitOptions.RemoveEmptyEntries), f => Assert.False(Has(f), $"{preset} must not send {f}"));
        if (preset == "cerebras")
        {
            Assert.Equal("auto", json.GetProperty("tool_choice").GetString());
        }
    }

    [Fact]
    public void NativeContentAndServerToolsSurviveWithinTheirOwnProtocol()
    {
        const string body = """
            {"model":"m","max_tokens":10,"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":2}],
             "messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}},{"type":"text","text":"summarize"}]}]}
            """;
        using var output = new PooledBufferWriter();

        AnthropicRequestWriter.Write(AnthropicRequestReader.Read(Encoding.UTF8.GetBytes(body)), "claude", 4096, new TranslationState(), output);
        var json = JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement;

        Assert.Equal("""{"type":"web_search_20250305","name":"web_search","max_uses":2}""", json.GetProperty("tools")[0].GetRawText());
        Assert.Equal("document", json.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal("doc", json.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("source").GetProperty("data").GetString());
    }

    [Fact]
    public void GeminiOpenAICompatibleThoughtSignaturesRoundTrip()
    {
        var response = OpenAIResponseCodec.Read(Encoding.UTF8.GetBytes("""
            {"id":"x","model":"gemini-2.5-flash","created":1,"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":null,
             "tool_calls":[{"id":"","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"c2lnbmF0dXJl+/="}}}]}}]}
            """), new TranslationState());
        var call = Assert.IsType<LlmToolCallPart>(Assert.Single(response.Content));
        var next = new LlmRequest { Model = "m" };
        next.Messages.Add(new LlmMessage(LlmRole.User) { Content = { new LlmTextPart("q") } });
        next.Messages.Add(new LlmMessage(LlmRole.Assistant) { Content = { call } });
        next.Messages.Add(new LlmMessage(LlmRole.Tool) { Content = { new LlmToolResultPart(call.Id) { Content = { new LlmTextPart("r") } } } });

        JsonElement Write(OpenAIDialect dialect)
        {
            using var output = new PooledBufferWriter();
            OpenAIRequestWriter.Write(next, "m", dialect, new TranslationState(), output);
            return JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement.GetProperty("messages");
        }

        var gemini = Write(LlmMiddleware.Providers.ProviderPresets.All["gemini-openai"].Dialect);
        var sent = gemini[1].GetProperty("tool_calls")[0];
        Assert.Equal(LlmFinishReason.ToolCalls, response.FinishReason);
        Assert.Equal("c2lnbmF0dXJl+/=", sent.GetProperty("extra_content").GetProperty("google").GetProperty("thought_signature").GetString());
        Assert.Equal(sent.GetProperty("id").GetString(), gemini[2].GetProperty("tool_call_id").GetString());

        var openai = Write(OpenAIDialect.None)[1].GetProperty("tool_calls")[0];
        Assert.False(openai.TryGetProperty("extra_content", out _));
        Assert.True(openai.GetProperty("id").GetString()!.Length <= 40);
    }

    [Theory]
    [InlineData("""{"properties":{"a":{"type":"string"}}}""", """{"type":"object","properties":{"a":{"type":"string"}}}""")]
    [InlineData("""{}""", """{"type":"object"}""")]
    [InlineData("""{"type":"object","properties":{}}""", """{"type":"object","properties":{}}""")]
    [InlineData("""{"$schema":"x","type":"object"}""", """{"$schema":"x","type":"object"}""")]
    public void AnthropicToolSchemasAlwaysDeclareAnObject(string schema, string expected) => Assert.Equal(expected, ToolSchemas.EnsureObjectType(schema));

    [Fact]
    public void FinalAssistantThinkingIsDroppedWhenThinkingIsOff()
    {
        using var output = new PooledBufferWriter();
        AnthropicRequestWriter.Write(AnthropicRequestReader.Read(Encoding.UTF8.GetBytes("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"q"},
             {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"Prefill"}]}]}
            """)), "claude", 4096, new TranslationState(), output);
        var last = JsonDocument.Parse(output.WrittenMemory.ToArray()).RootElement.GetProperty("messages")[1].GetProperty("content");

        Assert.Equal(1, last.GetArrayLength());
        Assert.Equal("text", last[0].GetProperty("type").GetString());
    }
}
