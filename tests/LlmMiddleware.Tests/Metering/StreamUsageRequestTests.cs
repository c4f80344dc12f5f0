using System.Text;
using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;
using Xunit;

namespace LlmMiddleware.Tests.Metering;

/// <summary>Passthrough OpenAI streams are made to report usage, whatever shape the caller's stream_options has.</summary>
public sealed class StreamUsageRequestTests
{
    [Theory]
    [InlineData("""{"model":"a","stream":true}""", """{"model":"b","stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData("""{"stream":true,"model":"a","stream_options":{"include_obfuscation":false}}""", """{"stream":true,"model":"b","stream_options":{"include_usage":true,"include_obfuscation":false}}""")]
    [InlineData("""{"model":"a","stream_options":{"include_usage":false},"stream":true}""", """{"model":"b","stream_options":{"include_usage":true},"stream":true}""")]
    [InlineData("""{"stream_options":null,"model":"a"}""", """{"stream_options":{"include_usage":true},"model":"b"}""")]
    [InlineData("""{"model":"a","stream_options":{ }}""", """{"model":"b","stream_options":{"include_usage":true}}""")]
    [InlineData("""{"model":"b","stream_options":{"include_usage":true}}""", """{"model":"b","stream_options":{"include_usage":true}}""")]
    [InlineData("""{ "model" : "a" , "x" : [1, {"stream_options": null}] }""", """{ "model" : "b" , "x" : [1, {"stream_options": null}] ,"stream_options":{"include_usage":true}}""")]
    public void RewritesModelAndAsksForUsage(string body, string expected)
    {
        using var output = new PooledBufferWriter(256);
        JsonModelRewriter.Rewrite(Encoding.UTF8.GetBytes(body), "b", output, requestStreamUsage: true);
        Assert.Equal(expected, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void LeavesTheBodyAloneWhenUsageIsNotRequested()
    {
        using var output = new PooledBufferWriter(256);
        JsonModelRewriter.Rewrite("""{"model":"a","stream":true}"""u8, "b", output);
        Assert.Equal("""{"model":"b","stream":true}""", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
