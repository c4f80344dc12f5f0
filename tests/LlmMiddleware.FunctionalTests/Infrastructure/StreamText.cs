using System.Text;
using System.Text.Json;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>Reads what a caller would: the text of an OpenAI chunk stream or of an Anthropic event stream.</summary>
public static class StreamText
{
    public static string JoinOpenAIContent(string sse)
    {
        var text = new StringBuilder();
        foreach (var line in sse.Split('\n'))
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal) && JsonDocument.Parse(line[6..]).RootElement is var chunk &&
                chunk.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0 &&
                choices[0].GetProperty("delta").TryGetProperty("content", out var content))
            {
                text.Append(content.GetString());
            }
        }

        return text.ToString();
    }

    public static string JoinAnthropicText(string sse)
    {
        var text = new StringBuilder();
        foreach (var line in sse.Split('\n'))
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal) && JsonDocument.Parse(line[6..]).RootElement is var data &&
                data.TryGetProperty("delta", out var delta) && delta.TryGetProperty("text", out var content))
            {
                text.Append(content.GetString());
            }
        }

        return text.ToString();
    }
}
