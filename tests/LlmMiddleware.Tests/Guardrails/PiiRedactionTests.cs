using LlmMiddleware.Guardrails;
using LlmMiddleware.Protocols;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Tests.Guardrails;

/// <summary>The built-in PII redaction over streams cut anywhere, and a guard stopping a stream mid-way.</summary>
public sealed class PiiRedactionTests
{
    private const string Answer = "Reach Jane at jane.doe@example.com or +1 415 555 0100; card 4111 1111 1111 1111, SSN 123-45-6789. Thanks!";
    private const string Redacted = "Reach Jane at [REDACTED:email] or [REDACTED:phone]; card [REDACTED:card], SSN [REDACTED:ssn]. Thanks!";

    private static readonly LlmPiiRedactionGuard Guard = new(Options.Create(new LlmPiiRedactionOptions { MaxMatchLength = 32 }));

    [Fact]
    public void ACompleteAnswerIsRedacted() => Assert.Equal(Redacted, Guard.Redact(Answer));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(200)]
    public void AStreamCutIntoDeltasOfAnySizeIsRedactedAsAWhole(int deltaLength)
    {
        var builder = new ResponseBuilder();
        var stream = new GuardedStream([Guard.OnStream(null!)], builder);
        stream.Start("id", "m");
        for (var i = 0; i < Answer.Length; i += deltaLength)
        {
            stream.Text(Json.EncodeLiteral(Answer.Substring(i, Math.Min(deltaLength, Answer.Length - i))));
        }

        stream.Finish(LlmFinishReason.Stop, null);
        stream.Complete();

        Assert.Equal(Redacted, Assert.IsType<LlmTextPart>(Assert.Single(builder.Build().Content)).Text);
    }

    [Fact]
    public void AGuardThatStopsAStreamEndsItWithItsErrorAndNothingAfter()
    {
        var builder = new ResponseBuilder();
        var stream = new GuardedStream([new StopAt("secret")], builder);
        stream.Start("id", "m");
        stream.Text(Json.EncodeLiteral("all fine, "));
        stream.Text(Json.EncodeLiteral("the secret is"));
        stream.Text(Json.EncodeLiteral(" 42"));
        stream.Complete();

        Assert.True(stream.Stopped);
        Assert.Equal("output_blocked", builder.Failure?.Code);
        Assert.Equal("all fine, ", Assert.IsType<LlmTextPart>(Assert.Single(builder.Build().Content)).Text);
    }

    private sealed class StopAt(string word) : LlmStreamGuard
    {
        public override string OnText(string text) => text.Contains(word, StringComparison.Ordinal)
            ? throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, "Blocked by policy.") { Code = "output_blocked" })
            : text;
    }
}
