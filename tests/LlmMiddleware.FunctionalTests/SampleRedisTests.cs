using System.Net;
using System.Text;
using LlmMiddleware.FunctionalTests.Infrastructure;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The main job as shipped, twice, sharing one real Redis through its documented settings.</summary>
[Collection(RedisCollection.Name)]
public sealed class SampleRedisTests(RedisServer redis)
{
    [Fact]
    public async Task TwoGatewaySamplesShareCachedAnswersThroughRedis()
    {
        var prefix = "sample" + Guid.NewGuid().ToString("N")[..8] + ":";
        string[] settings = ["--LlmGateway:Cache:Mode=Exact", $"--LlmGateway:CacheStore:ConnectionString={redis.ConnectionString}", "--LlmGateway:CacheStore:Kind=Redis", $"--LlmGateway:CacheStore:KeyPrefix={prefix}"];
        var (portA, portB) = (SampleTests.FreePort(), SampleTests.FreePort());
        using var a = await SampleTests.StartAsync("Gateway", portA, settings);
        using var b = await SampleTests.StartAsync("Gateway", portB, settings);
        try
        {
            using var http = new HttpClient { DefaultRequestHeaders = { { "Authorization", "Bearer " + SampleTests.DemoKey } } };
            async Task<string> AskAsync(int port)
            {
                using var response = await http.PostAsync($"http://127.0.0.1:{port}/v1/chat/completions", new StringContent("""{"model":"default","messages":[{"role":"user","content":"Shared through Redis?"}]}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return response.Headers.GetValues("x-llm-cache").Single();
            }

            Assert.Equal("miss", await AskAsync(portA));
            await redis.WaitForKeysAsync(prefix + "exact:*");
            Assert.Equal("hit-exact", await AskAsync(portB));
        }
        finally
        {
            a.Kill(entireProcessTree: true);
            b.Kill(entireProcessTree: true);
        }
    }
}
