using Microsoft.Extensions.Options;

namespace LlmMiddleware.Upstream;

/// <summary>
/// Gemini accepts only inline images (its <c>fileData</c> works for uploaded files alone), so image URLs are downloaded
/// and inlined before the request is written. Per request: at most <see cref="LlmGatewayOptions.MaxInlinedImages"/>
/// distinct URLs (each fetched once), <see cref="LlmGatewayOptions.MaxInlinedImageBytes"/> each and
/// <see cref="LlmGatewayOptions.MaxInlinedBytesPerRequest"/> in all, within <see cref="LlmGatewayOptions.InlineImagesTimeout"/>
/// (a server that trickles its body is cut off), through <see cref="GuardedHttp"/>: by default only public addresses,
/// checked on the address actually connected to. Every failure is a 400 that names the URL and nothing the gateway learned about the host.
/// </summary>
internal sealed class RemoteImageInliner : IDisposable
{
    private readonly LlmGatewayOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly HttpClient _client;

    public RemoteImageInliner(IOptions<LlmGatewayOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _client = GuardedHttp.Create(_options.ConnectTimeout, _options.AllowPrivateImageHosts);
    }

    public static bool HasRemoteImages(LlmRequest request) =>
        request.Messages.Exists(m => m.Content.Exists(p => p is LlmImagePart { Url: not null } || p is LlmToolResultPart r && r.Content.Exists(c => c is LlmImagePart { Url: not null })));

    public async ValueTask InlineAsync(LlmRequest request, CancellationToken cancellationToken)
    {
        if (!_options.InlineRemoteImages)
        {
            throw Invalid("This provider accepts inline images only: send the image as a base64 data: URL.");
        }

        var limit = _options.InlineImagesTimeout < _options.UpstreamTimeout ? _options.InlineImagesTimeout : _options.UpstreamTimeout;
        using var deadline = new CancellationTokenSource(limit, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var downloads = new Downloads();
        try
        {
            foreach (var message in request.Messages)
            {
                await InlineAsync(message.Content, downloads, linked.Token).ConfigureAwait(false);
                foreach (var result in message.Content.OfType<LlmToolResultPart>())
                {
                    await InlineAsync(result.Content, downloads, linked.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Invalid($"The request's image URLs could not be fetched within {limit.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>What one request has downloaded so far: each URL once, and the bytes in all.</summary>
    private sealed class Downloads
    {
        public Dictionary<string, (string MediaType, ReadOnlyMemory<byte> Bytes)> ByUrl { get; } = new(StringComparer.Ordinal);

        public long Bytes { get; set; }
    }

    private async ValueTask InlineAsync(List<LlmContentPart> parts, Downloads downloads, CancellationToken cancellationToken)
    {
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i] is LlmImagePart { Url: { } url } image)
            {
                if (!downloads.ByUrl.TryGetValue(url, out var inline))
                {
                    if (downloads.ByUrl.Count >= _options.MaxInlinedImages)
                    {
                        throw Invalid($"At most {_options.MaxInlinedImages} image URLs are fetched per request; send the others as base64 data: URLs.");
                    }

                    var (mediaType, bytes) = await DownloadAsync(url, _options.MaxInlinedBytesPerRequest - downloads.Bytes, cancellationToken).ConfigureAwait(false);
                    inline = (mediaType, bytes.GetBuffer().AsMemory(0, (int)bytes.Length));
                    downloads.ByUrl[url] = inline;
                    downloads.Bytes += bytes.Length;
                }

                parts[i] = new LlmImagePart { MediaType = inline.MediaType, Bytes = inline.Bytes, Detail = image.Detail };
            }
        }
    }

    private async Task<(string MediaType, MemoryStream Bytes)> DownloadAsync(string url, long budget, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw Invalid($"Image URL '{url}' is not an http(s) URL.");
        }

        var max = Math.Min(_options.MaxInlinedImageBytes, budget);
        try
        {
            using var response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (!response.IsSuccessStatusCode || mediaType is null || !mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid($"Image URL '{url}' did not return an image (HTTP {(int)response.StatusCode}, {mediaType ?? "no content type"}).");
            }

            var buffer = await GuardedHttp.ReadLimitedAsync(response, max, cancellationToken).ConfigureAwait(false) ?? throw TooLarge(url, max);
            return (mediaType, buffer);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // Never the reason: it could tell the caller what a host resolves to or which ports are open.
            throw Invalid($"Image URL '{url}' could not be fetched.");
        }
    }

    private LlmGatewayException TooLarge(string url, long max) => max < _options.MaxInlinedImageBytes
        ? Invalid($"The request's images come to more than {_options.MaxInlinedBytesPerRequest} bytes (image URL '{url}').")
        : Invalid($"Image URL '{url}' is larger than {_options.MaxInlinedImageBytes} bytes.");

    private static LlmGatewayException Invalid(string message) => new(new LlmError(LlmErrorKind.InvalidRequest, message) { Param = "messages" });

    public void Dispose() => _client.Dispose();
}
