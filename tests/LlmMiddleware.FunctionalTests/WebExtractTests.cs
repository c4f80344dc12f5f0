using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Web extract against a real page server on loopback: readable text of HTML and PDF with a token count and a call
/// record; the allow-list checked on the URL and on every redirect hop; private addresses, size and type refused.
/// </summary>
public sealed class WebExtractTests : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private readonly CollectingSink _sink = new();
    private FakeUpstream _upstream = null!;
    private WebApplication _pages = null!;
    private string _pagesUrl = "";

    private const string Article = """
        <html><head><title>Gateway notes</title><style>p{color:red}</style><script>var tracking = 1;</script></head>
        <body><nav>Home | About</nav><header>Site header</header>
        <article><h1>Output guards</h1><p>Guards see   every answer.</p><p>They can <b>redact</b> text.</p></article>
        <footer>Copyright</footer></body></html>
        """;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _pages = builder.Build();
        _pages.MapGet("/article.html", () => Results.Content(Article, "text/html; charset=utf-8"));
        _pages.MapGet("/notes.pdf", () => Results.File(Pdf("Budgets cap spend per key."), "application/pdf"));
        _pages.MapGet("/big.txt", () => Results.Text(new string('x', 4096), "text/plain"));
        _pages.MapGet("/logo.png", () => Results.File(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, "image/png"));
        _pages.MapGet("/elsewhere", (HttpContext http) => Results.Redirect($"http://localhost:{http.Connection.LocalPort}/article.html"));
        await _pages.StartAsync();
        _pagesUrl = _pages.Urls.Single();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _pages.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private Task<GatewayHost> GatewayAsync(bool allowPrivate = true) => GatewayHost.StartAsync(
        _upstream,
        b =>
        {
            b.Services.AddLlmGateway().AddWebExtract(o => o.MaxBytes = 1024);
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
        },
        app => app.MapLlmWebExtract(),
        new Dictionary<string, string?> { ["LlmGateway:WebExtract:AllowedHosts:0"] = "127.0.0.1", ["LlmGateway:WebExtract:AllowPrivateHosts"] = allowPrivate ? "true" : "false" });

    private async Task<(HttpStatusCode Status, JsonElement Body)> ExtractAsync(GatewayHost gateway, string url)
    {
        using var response = await _http.PostAsync(gateway.BaseUrl + "/v1/extract", new StringContent(JsonSerializer.Serialize(new { url, model = "gpt-4o" }), Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task AnHtmlPageIsReducedToItsMainContentCountedAndRecorded()
    {
        await using var gateway = await GatewayAsync();

        var (status, body) = await ExtractAsync(gateway, _pagesUrl + "/article.html");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Gateway notes", body.GetProperty("title").GetString());
        Assert.Equal("Output guards\nGuards see every answer.\nThey can redact text.", body.GetProperty("content").GetString());
        var tokens = body.GetProperty("tokens").GetInt64();
        Assert.True(tokens > 5);
        var record = await _sink.WaitForAsync(r => r.Provider == "web");
        Assert.Equal((tokens, "127.0.0.1", 0m), (record.InputTokens, record.Model, record.Cost));
    }

    [Fact]
    public async Task APdfIsReadAsText()
    {
        await using var gateway = await GatewayAsync();

        var (status, body) = await ExtractAsync(gateway, _pagesUrl + "/notes.pdf");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Budgets cap spend per key.", body.GetProperty("content").GetString());
    }

    [Theory]
    [InlineData("http://example.org/page", HttpStatusCode.Forbidden, "host_not_allowed")]         // not on the allow-list
    [InlineData("/elsewhere", HttpStatusCode.UnprocessableEntity, "url_not_extracted")]            // redirected off it
    [InlineData("/big.txt", HttpStatusCode.UnprocessableEntity, "url_not_extracted")]              // over MaxBytes
    [InlineData("/logo.png", HttpStatusCode.UnsupportedMediaType, "unsupported_content_type")]
    [InlineData("file:///etc/passwd", HttpStatusCode.BadRequest, null)]
    public async Task WhatCannotOrMayNotBeFetchedIsRefusedInOpenAIsShape(string url, HttpStatusCode expected, string? code)
    {
        await using var gateway = await GatewayAsync();

        var (status, body) = await ExtractAsync(gateway, url.StartsWith('/') ? _pagesUrl + url : url);

        Assert.Equal(expected, status);
        Assert.Equal("url", body.GetProperty("error").GetProperty("param").GetString());
        if (code is not null)
        {
            Assert.Equal(code, body.GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Theory]
    [InlineData("docs.example.com", true)]
    [InlineData("example.com", true)]
    [InlineData("a.b.example.com", true)]
    [InlineData("notexample.com", false)]
    [InlineData("example.com.evil.net", false)]
    [InlineData("intranet", true)]
    [InlineData("intranet.evil.net", false)]
    public void TheAllowListTakesExactHostsAndDomainsWithTheirSubdomains(string host, bool allowed)
    {
        var options = new LlmMiddleware.WebExtract.LlmWebExtractOptions { AllowedHosts = { "*.example.com", "INTRANET" } };

        Assert.Equal(allowed, options.Allows(host));
    }

    [Fact]
    public async Task AnAllowedHostOnAPrivateAddressIsRefusedUnlessPrivateHostsAreAllowed()
    {
        await using var gateway = await GatewayAsync(allowPrivate: false);

        var (status, body) = await ExtractAsync(gateway, _pagesUrl + "/article.html");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.DoesNotContain("127.0.0.1 resolves", body.GetProperty("error").GetProperty("message").GetString());
    }

    private static byte[] Pdf(string text)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4).AddText(text, 12, new UglyToad.PdfPig.Core.PdfPoint(50, 700), font);
        return builder.Build();
    }
}
