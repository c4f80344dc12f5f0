using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlmMiddleware.Tests;

/// <summary>
/// Golden files under TestData/Golden. Set UPDATE_GOLDEN=1 to rewrite them from the current output; review the diff.
/// Volatile values (generated ids, timestamps) are normalized before comparing.
/// </summary>
internal static partial class Golden
{
    public static string TestData([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "TestData");

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(TestData(), relativePath));

    public static void AssertMatches(string name, string actual)
    {
        actual = Normalize(actual);
        var path = Path.Combine(TestData(), "Golden", name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"Missing golden file {name}; run the tests with UPDATE_GOLDEN=1 and review it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }

    public static string Pretty(ReadOnlySpan<byte> json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

    private static string Normalize(string text)
    {
        text = Created().Replace(text, "\"created\":0");
        text = GeneratedCallId().Replace(text, "call_<generated>");
        return text.ReplaceLineEndings("\n");
    }

    [GeneratedRegex("\"created\":\\s*\\d+")]
    private static partial Regex Created();

    [GeneratedRegex("call_[0-9a-f]{16}")]
    private static partial Regex GeneratedCallId();
}
