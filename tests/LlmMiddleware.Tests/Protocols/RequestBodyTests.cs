using LlmMiddleware.Gateway;
using LlmMiddleware.Upstream;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace LlmMiddleware.Tests.Protocols;

/// <summary>Reading a caller's body: memory follows what arrives, not what the caller claims.</summary>
public sealed class RequestBodyTests
{
    [Fact]
    public async Task AClaimedContentLengthReservesNothingUntilTheBytesArrive()
    {
        var http = new DefaultHttpContext();
        http.Request.ContentLength = 32L * 1024 * 1024; // claimed; only a few bytes follow
        http.Request.Body = new MemoryStream("""{"model":"gpt"}"""u8.ToArray());

        var before = GC.GetAllocatedBytesForCurrentThread();
        using var body = await RequestBody.ReadAsync(http.Request, 40L * 1024 * 1024, default);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(15, body.WrittenCount);
        Assert.True(allocated < 1024 * 1024, $"{allocated} bytes allocated for a 15-byte body that claimed 32 MB");
    }
}
