using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace LlmMiddleware.FunctionalTests.Fuzz;

/// <summary>Which surface a fuzz case calls.</summary>
public enum FuzzSurface
{
    OpenAIChat,
    AnthropicMessages,
    Embeddings,
}

/// <summary>One change to a valid request: <see cref="Op"/> picks what, <see cref="Pick"/> where, <see cref="Value"/> with what.</summary>
public readonly record struct Mutation(int Op, int Pick, int Value);

/// <summary>A generated request: a valid request of one surface, a model of some provider kind, then mutations.</summary>
public sealed record FuzzCase(FuzzSurface Surface, int Model, bool Stream, Mutation[] Mutations)
{
    public string Path => Surface switch
    {
        FuzzSurface.AnthropicMessages => "/v1/messages",
        FuzzSurface.Embeddings => "/v1/embeddings",
        _ => "/v1/chat/completions",
    };

    public string Body => RequestMutations.Build(this);

    public override string ToString() => $"{Surface} {Path} {Body[..Math.Min(Body.Length, 2000)]}";
}

/// <summary>
/// Builds fuzz cases from valid OpenAI, Anthropic and embeddings requests (tools, images, tool history, structured
/// output) by mutating them: values replaced by other types, huge or hostile strings, extreme numbers, deep nesting;
/// fields removed, added, duplicated; bodies truncated. Every model alias of the test gateway's provider kinds is used.
/// </summary>
public static class RequestMutations
{
    public static readonly string[] ChatModels = ["gpt", "claude", "gem", "azure-gpt", "mistral/mistral-small-latest", "simulated/echo", "nobody/x"];

    public static readonly string[] EmbeddingModels = ["openai/text-embedding-3-small", "simulated/echo", "claude"];

    public static readonly Gen<FuzzCase> Cases =
        from surface in Gen.Enum<FuzzSurface>()
        from model in Gen.Int[0, ChatModels.Length - 1]
        from stream in Gen.Bool
        from mutations in Gen.Select(Gen.Int[0, 8], Gen.Int[0, 1000], Gen.Int[0, 30], (op, pick, value) => new Mutation(op, pick, value)).Array[0, 4]
        select new FuzzCase(surface, model, stream, mutations);

    private const string OpenAISeed = """
        {"model":"M","stream":false,"temperature":0.5,"max_tokens":30,"stop":["END"],"seed":1,"n":1,
         "messages":[{"role":"system","content":"Be brief."},
          {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
          {"role":"tool","tool_call_id":"call1","content":"42"},{"role":"user","content":"and?"}],
         "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}}],
         "tool_choice":"auto","response_format":{"type":"json_object"}}
        """;

    private const string AnthropicSeed = """
        {"model":"M","stream":false,"max_tokens":30,"system":"Be brief.","metadata":{"user_id":"u"},"temperature":0.5,"stop_sequences":["END"],
         "messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"42"}]}],
         "tools":[{"name":"f","description":"d","input_schema":{"type":"object","properties":{"a":{"type":"integer"}}}}],"tool_choice":{"type":"auto"}}
        """;

    private const string EmbeddingsSeed = """{"model":"M","input":["hello","world"],"encoding_format":"float"}""";

    public static string Build(FuzzCase fuzz)
    {
        var root = JsonNode.Parse(fuzz.Surface switch
        {
            FuzzSurface.AnthropicMessages => AnthropicSeed,
            FuzzSurface.Embeddings => EmbeddingsSeed,
            _ => OpenAISeed,
        })!.AsObject();
        root["model"] = fuzz.Surface == FuzzSurface.Embeddings ? EmbeddingModels[fuzz.Model % EmbeddingModels.Length] : ChatModels[fuzz.Model];
        if (fuzz.Surface != FuzzSurface.Embeddings)
        {
            root["stream"] = fuzz.Stream;
        }

        string? text = null;
        foreach (var m in fuzz.Mutations)
        {
            if (text is not null)
            {
                break; // a text-level mutation ends the structured ones
            }

            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var target = nodes[m.Pick % nodes.Count];
            switch (m.Op)
            {
                case 0 or 1 when target.Parent is { } parent:
                    Replace(parent, target, Value(m.Value));
                    break;
                case 2 when target is JsonObject obj && obj.Count > 0:
                    obj.Remove(obj.ElementAt(m.Value % obj.Count).Key);
                    break;
                case 3 when target is JsonObject obj:
                    obj["x_fuzz_" + m.Value] = Value(m.Value);
                    break;
                case 4 when target.Parent is { } parent:
                    Replace(parent, target, new JsonArray(target.DeepClone()));
                    break;
                case 5 when target is JsonArray array && array.Count > 0:
                    for (var i = 0; i < m.Value % 8; i++)
                    {
                        array.Add(array[m.Pick % array.Count]?.DeepClone());
                    }

                    break;
                case 6:
                    var json = root.ToJsonString();
                    text = json[..(m.Pick * json.Length / 1001)]; // truncated
                    break;
                case 7:
                    // A duplicated field: text-level, since a JSON object model cannot hold one.
                    var whole = root.ToJsonString();
                    text = whole.Insert(1, "\"model\":" + (m.Value % 2 == 0 ? "\"gpt\"" : "1") + ",");
                    break;
                case 8:
                    text = root.ToJsonString().Replace("\"hi\"", (m.Value % 3) switch { 0 => "\"\\ud800\"", 1 => "\"\\u0000x\"", _ => "\"" + new string('é', 60_000) + "\"" });
                    break;
            }
        }

        return text ?? root.ToJsonString();
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        nodes.Add(node);
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
        }
    }

    private static void Replace(JsonNode parent, JsonNode target, JsonNode? value)
    {
        if (parent is JsonObject obj)
        {
            obj[target.GetPropertyName()] = value;
        }
        else if (parent is JsonArray array)
        {
            array[target.GetElementIndex()] = value;
        }
    }

    private static JsonNode? Value(int kind) => kind switch
    {
        0 => null,
        1 => true,
        2 => 0,
        3 => -1,
        4 => 1.5,
        5 => long.MaxValue,
        6 => 1e308,
        7 => "",
        8 => "text",
        9 => "👋🏽 مرحبا 世界",
        10 => new string('x', 100_000),
        11 => new JsonArray(),
        12 => new JsonObject(),
        13 => new JsonArray(1, "a", null, new JsonObject()),
        14 => new JsonObject { ["type"] = "text", ["text"] = "hello" },
        15 => new JsonObject { ["role"] = "user", ["content"] = "hello" },
        16 => Deep(70),
        17 => Deep(30),
        18 => "data:image/png;base64,@@@",
        19 => "user",
        20 => "assistant",
        21 => "tool",
        22 => "function",
        23 => -1e308,
        24 => int.MinValue,
        25 => "auto",
        26 => "required",
        27 => new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "g" } },
        28 => "\t\n\r",
        29 => new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "o", ["schema"] = Deep(10) } },
        _ => "🤖",
    };

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonObject { ["type"] = "string" };
        for (var i = 0; i < depth; i++)
        {
            node = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["a"] = node } };
        }

        return node;
    }
}
