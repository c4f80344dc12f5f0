#pragma warning disable OPENAI001 // the SDK's Responses client is marked for evaluation
using System.ClientModel;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI.Responses;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// The official OpenAI .NET SDK's Responses client against <c>POST /v1/responses</c>, reaching every provider kind:
/// text, streaming, function tools round trip (streamed and not), structured output and reasoning effort translated,
/// and what needs stored state refused in OpenAI's shape.
/// </summary>
public sealed class ResponsesSdkTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string, string> Models => new()
    {
        { "gpt", "openai" },
        { "claude", "anthropic" },
        { "gem", "gemini" },
        { "mistral/mistral-small-latest", "mistral" },
    };

    private ResponsesClient Client() =>
        new(new ApiKeyCredential("caller-key-must-not-leak"), new ResponsesClientOptions { Endpoint = new Uri(fixture.Gateway.BaseUrl + "/v1") });

    private static ResponseTool WeatherTool => ResponseTool.CreateFunctionTool(
        "get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}"""), strictModeEnabled: false, functionDescription: "Current weather in a city");

    private static ResponseTool TimeTool => ResponseTool.CreateFunctionTool(
        "get_time", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), strictModeEnabled: false, functionDescription: "Local time in a city");

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Text(string model, string provider)
    {
        ResponseResult response = await Client().CreateResponseAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("Hi there")]) { Instructions = "Be brief." });

        Assert.Equal($"Hello from {provider}: Hi there", response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.StartsWith("resp_", response.Id);
        Assert.True(response.Usage.InputTokenCount > 0);
        Assert.True(response.Usage.OutputTokenCount > 0);
        Assert.Contains("Be brief.", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Streamed(string model, string provider)
    {
        var text = "";
        var sequence = new List<int>();
        ResponseResult? completed = null;
        await foreach (var update in await Client().CreateResponseStreamingAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("Stream please")]) { StreamingEnabled = true }))
        {
            sequence.Add(update.SequenceNumber);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text += delta.Delta;
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
            }
        }

        Assert.Equal($"Hello from {provider}: Stream please", text);
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.NotNull(completed);
        Assert.Equal(text, completed.GetOutputText());
        Assert.True(completed.Usage.OutputTokenCount > 0);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task ToolCallRoundTrip(string model, string provider)
    {
        var client = Client();
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem("Weather and time in Paris and Berlin?")];
        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions(model, input) { Tools = { WeatherTool, TimeTool } });

        var calls = first.OutputItems.OfType<FunctionCallResponseItem>().ToList();
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.FunctionName));
        Assert.Equal("Paris", JsonDocument.Parse(calls[0].FunctionArguments).RootElement.GetProperty("city").GetString());

        input.AddRange(first.OutputItems);
        input.Add(ResponseItem.CreateFunctionCallOutputItem(calls[0].CallId, "18C"));
        input.Add(ResponseItem.CreateFunctionCallOutputItem(calls[1].CallId, "14:00"));
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions(model, input) { Tools = { WeatherTool, TimeTool } });

        Assert.Equal("Results: 18C, 14:00", second.GetOutputText());
        Assert.Contains("14:00", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task StreamedToolCallsArriveAsFunctionCallItemsWithArgumentDeltas(string model, string provider)
    {
        var arguments = new Dictionary<string, string>();
        var added = new List<FunctionCallResponseItem>();
        ResponseResult? completed = null;
        await foreach (var update in await Client().CreateResponseStreamingAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("Weather and time in Paris and Berlin?")]) { Tools = { WeatherTool, TimeTool }, StreamingEnabled = true }))
        {
            switch (update)
            {
                case StreamingResponseOutputItemAddedUpdate { Item: FunctionCallResponseItem call }:
                    added.Add(call);
                    break;
                case StreamingResponseFunctionCallArgumentsDeltaUpdate delta:
                    arguments[delta.ItemId] = arguments.GetValueOrDefault(delta.ItemId, "") + delta.Delta.ToString();
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
            }
        }

        Assert.Equal(["get_weather", "get_time"], added.Select(c => c.FunctionName));
        Assert.Equal("Berlin", JsonDocument.Parse(arguments[added[1].Id]).RootElement.GetProperty("city").GetString());
        Assert.Equal(added.Select(c => c.CallId), completed!.OutputItems.OfType<FunctionCallResponseItem>().Select(c => c.CallId));
        Assert.NotNull(fixture.Upstream.LastCall(provider));
    }

    [Fact]
    public async Task StructuredOutputAndReasoningEffortReachTheProviderInItsOwnTerms()
    {
        var options = new CreateResponseOptions("gpt", [ResponseItem.CreateUserMessageItem("Answer in JSON")])
        {
            TextOptions = new ResponseTextOptions { TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("answer", BinaryData.FromString("""{"type":"object","properties":{"a":{"type":"string"}}}"""), jsonSchemaIsStrict: true) },
            ReasoningOptions = new ResponseReasoningOptions { ReasoningEffortLevel = ResponseReasoningEffortLevel.High },
        };

        options.Model = "mistral/mistral-small-latest";
        await Client().CreateResponseAsync(options);
        var sent = fixture.Upstream.LastCall("mistral").Body;
        Assert.Equal("answer", sent["response_format"]!["json_schema"]!["name"]!.GetValue<string>());
        Assert.True(sent["response_format"]!["json_schema"]!["strict"]!.GetValue<bool>());

        options.Model = "gem";
        await Client().CreateResponseAsync(options);
        var config = fixture.Upstream.LastCall("gemini").Body["generationConfig"]!;
        Assert.Equal("application/json", config["responseMimeType"]!.GetValue<string>());
        Assert.Equal(24576, config["thinkingConfig"]!["thinkingBudget"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("claude", "anthropic")]
    [InlineData("gem", "gemini")]
    public async Task AnInputImageReachesTheProviderAsItsOwnImageBlock(string model, string provider)
    {
        const string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        var image = ResponseContentPart.CreateInputImagePart(BinaryData.FromBytes(Convert.FromBase64String(png), "image/png"), "image/png");

        await Client().CreateResponseAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem([ResponseContentPart.CreateInputTextPart("What is this?"), image])]));

        var sent = fixture.Upstream.LastCall(provider).Body.ToJsonString();
        Assert.Contains(png, sent);
        Assert.Contains(provider == "anthropic" ? "\"type\":\"image\"" : "\"inlineData\"", sent);
    }

    [Theory]
    [InlineData("gpt")]
    [InlineData("claude")]
    public async Task ABrokenStreamEndsWithAnErrorEventAndNoCompletion(string model)
    {
        fixture.Upstream.Enqueue(new FakeFault { BreakAfterEvents = 2 });
        var types = new List<string>();

        // The stream is aborted after its error event: the SDK reports a failure rather than a finished response.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in await Client().CreateResponseStreamingAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("hi")]) { StreamingEnabled = true }))
            {
                types.Add(update.GetType().Name);
            }
        });

        Assert.DoesNotContain(nameof(StreamingResponseCompletedUpdate), types);
    }

    [Theory]
    [InlineData("gpt", "openai", "/openai/v1/responses")]
    [InlineData("azure-gpt", "azure", "/azure/openai/v1/responses")]
    public async Task ToOpenAIAndAzureTheCallGoesThroughAsSentSoStoredResponsesAndHostedToolsWork(string model, string provider, string path)
    {
        var client = Client();
        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("Remember: the code is 7")]));
        var second = new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("Search the news")]) { PreviousResponseId = first.Id, Tools = { ResponseTool.CreateWebSearchTool() } };

        ResponseResult answer = await client.CreateResponseAsync(second);

        Assert.Single(answer.OutputItems.OfType<WebSearchCallResponseItem>());
        Assert.Equal($"Hello from {provider}: Search the news", answer.GetOutputText());
        var call = fixture.Upstream.LastCall(provider);
        Assert.Equal(path, call.Path);
        Assert.Equal(first.Id, call.Body["previous_response_id"]!.GetValue<string>());
        Assert.DoesNotContain("caller-key-must-not-leak", call.Headers.ToString());
        Assert.Equal(22, answer.Usage.TotalTokenCount);
    }

    [Theory]
    [InlineData("claude")]
    [InlineData("gem")]
    public async Task WhatOnlyOpenAIsResponsesApiServesIsRefusedElsewhereInOpenAIsShape(string model)
    {
        var stored = await Assert.ThrowsAsync<ClientResultException>(() => Client().CreateResponseAsync(
            new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("And then?")]) { PreviousResponseId = "resp_earlier" }));
        var hosted = await Assert.ThrowsAsync<ClientResultException>(() => Client().CreateResponseAsync(
            new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("Search")]) { Tools = { ResponseTool.CreateWebSearchTool() } }));

        Assert.Equal((400, 400), (stored.Status, hosted.Status));
        Assert.Contains("'previous_response_id' (a stored response) needs OpenAI's own Responses API", stored.Message);
        Assert.Contains("The hosted tool 'web_search' needs OpenAI's own Responses API", hosted.Message);
    }
}
