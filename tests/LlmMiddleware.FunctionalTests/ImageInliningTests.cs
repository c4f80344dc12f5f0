using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Image URLs fetched for Gemini (which takes inline images only) are bounded per request; every failure is a
/// 400 in the caller's protocol that tells nothing about the host.</summary>
public sealed class ImageInliningTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly Dictionary<string, string?> Limits = new()
    {
        ["LlmGateway:AllowPrivateImageHosts"] = "true", // the fake image server is on loopback
        ["LlmGateway:MaxInlinedImages"] = "2",
        ["LlmGateway:MaxInlinedBytesPerRequest"] = "6",
    };

    [Fact]
    public async Task ARepeatedUrlIsFetchedOnceAndDistinctUrlsAreCounted()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>(Limits) { ["LlmGateway:MaxInlinedBytesPerRequest"] = "1000" });
        var image = fixture.Upstream.BaseUrl + "/image.png";
        var before = fixture.Upstream.ImageFetches;

        var (repeated, _) = await AskAsync(gateway, image, image, image, image, image);
        var (tooMany, message) = await AskAsync(gateway, image + "?a", image + "?b", image + "?c");

        Assert.Equal(HttpStatusCode.OK, repeated);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany);
        Assert.Contains("At most 2 image URLs", message);
        Assert.Equal(before + 1 + 2, fixture.Upstream.ImageFetches);
    }

    [Fact]
    public async Task AFetchedImageIsHeldAsItsBytesNotAsABase64String()
    {
        var hook = new ImageProbe();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddHook(hook), settings: Limits);

        var (status, _) = await AskAsync(gateway, fixture.Upstream.BaseUrl + "/image.png");

        Assert.Equal(HttpStatusCode.OK, status);
        var image = Assert.Single(hook.Images);
        Assert.Null(image.Data);
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], image.Bytes.ToArray());
        var sent = fixture.Upstream.LastCall("gemini").Body["contents"]![0]!["parts"]![1]!["inlineData"]!["data"]!.GetValue<string>();
        Assert.Equal(Convert.ToBase64String([0x89, 0x50, 0x4E, 0x47]), sent);
    }

    private sealed class ImageProbe : LlmGatewayHook
    {
        public List<LlmImagePart> Images { get; } = [];

        public override ValueTask OnCompletedAsync(LlmRequestContext context, CancellationToken cancellationToken)
        {
            Images.AddRange(context.Request!.Messages.SelectMany(m => m.Content).OfType<LlmImagePart>());
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task TheRequestsImagesTogetherAreBounded()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: Limits);
        var (status, message) = await AskAsync(gateway, fixture.Upstream.BaseUrl + "/image.png?a", fixture.Upstream.BaseUrl + "/image.png?b");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("more than 6 bytes", message);
    }

    [Fact]
    public async Task ATruncatedDownloadIsA400()
    {
        // Room for the 100 bytes it announces: the download itself must fail, not the announced size.
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>(Limits) { ["LlmGateway:MaxInlinedBytesPerRequest"] = "1000" });
        var (status, message) = await AskAsync(gateway, fixture.Upstream.BaseUrl + "/truncated-image.png");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.EndsWith("could not be fetched.", message);
    }

    [Fact]
    public async Task AServerThatTricklesIsCutOffAtTheRequestsDeadline()
    {
        var clock = new ObservedClock();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddSingleton<TimeProvider>(clock), settings: Limits);
        var asking = AskAsync(gateway, fixture.Upstream.BaseUrl + "/trickling-image.png");

        // Once the download's 20 s limit is set, the gateway's clock moves past it: the trickle is cut off.
        await clock.ScheduledAsync(TimeSpan.FromSeconds(20));
        clock.Advance(TimeSpan.FromSeconds(20));

        var (status, message) = await asking;
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("within 20 s", message);
    }

    /// <summary>Refused private addresses say no more than any other failure: not what the host resolved to.</summary>
    [Fact]
    public async Task ARefusedHostIsNotDescribed()
    {
        var (status, message) = await AskAsync(fixture.Gateway, "http://localhost:1/secret.png");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Image URL 'http://localhost:1/secret.png' could not be fetched.", message);
    }

    private async Task<(HttpStatusCode Status, string Message)> AskAsync(GatewayHost gateway, params string[] urls)
    {
        var parts = string.Join(",", urls.Select(url => "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}"));
        var body = "{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this\"}," + parts + "]}]}";
        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.TryGetProperty("error", out var error) ? error.GetProperty("message").GetString()! : "");
    }
}
