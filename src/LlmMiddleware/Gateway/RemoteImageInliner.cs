using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Gateway;

/// <summary>
/// Gemini accepts only inline images (its <c>fileData</c> works for uploaded files alone), so image URLs are downloaded
/// and inlined before the request is written. Downloads are size-limited and, by default, refused for loopback,
/// private and link-local addresses, checked on the address actually connected to.
/// </summary>
internal sealed class RemoteImageInliner : IDisposable
{
    private readonly LlmGatewayOptions _options;
    private readonly HttpClient _client;

    public RemoteImageInliner(IOptions<LlmGatewayOptions> options)
    {
        _options = options.Value;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 3,
            UseCookies = false,
            ConnectCallback = ConnectAsync,
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public static bool HasRemoteImages(LlmRequest request) =>
        request.Messages.Exists(m => m.Content.Exists(p => p is LlmImagePart { Url: not null } || p is LlmToolResultPart r && r.Content.Exists(c => c is LlmImagePart { Url: not null })));

    public async ValueTask InlineAsync(LlmRequest request, CancellationToken cancellationToken)
    {
        if (!_options.InlineRemoteImages)
        {
            throw Invalid("This provider accepts inline images only: send the image as a base64 data: URL.");
        }

        foreach (var message in request.Messages)
        {
            await InlineAsync(message.Content, cancellationToken).ConfigureAwait(false);
            foreach (var result in message.Content.OfType<LlmToolResultPart>())
            {
                await InlineAsync(result.Content, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask InlineAsync(List<LlmContentPart> parts, CancellationToken cancellationToken)
    {
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i] is LlmImagePart { Url: { } url } image)
            {
                var (mediaType, data) = await DownloadAsync(url, cancellationToken).ConfigureAwait(false);
                parts[i] = new LlmImagePart { MediaType = mediaType, Data = data, Detail = image.Detail };
            }
        }
    }

    private async Task<(string MediaType, string Data)> DownloadAsync(string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw Invalid($"Image URL '{url}' is not an http(s) URL.");
        }

        try
        {
            using var response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (!response.IsSuccessStatusCode || mediaType is null || !mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid($"Image URL '{url}' did not return an image (HTTP {(int)response.StatusCode}, {mediaType ?? "no content type"}).");
            }

            if (response.Content.Headers.ContentLength > _options.MaxInlinedImageBytes)
            {
                throw Invalid($"Image URL '{url}' is larger than {_options.MaxInlinedImageBytes} bytes.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > _options.MaxInlinedImageBytes)
                {
                    throw Invalid($"Image URL '{url}' is larger than {_options.MaxInlinedImageBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            return (mediaType, Convert.ToBase64String(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
        catch (HttpRequestException ex)
        {
            throw Invalid($"Image URL '{url}' could not be fetched: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Invalid($"Image URL '{url}' could not be fetched in time.");
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken).ConfigureAwait(false);
        var allowed = _options.AllowPrivateImageHosts ? addresses : Array.FindAll(addresses, IsPublic);
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"host '{context.DnsEndPoint.Host}' resolves to no public address");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return true;
        }

        var b = address.GetAddressBytes();
        return !(b[0] == 10 || b[0] == 127 || b[0] == 0 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168) ||
                 (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127));
    }

    private static LlmGatewayException Invalid(string message) => new(new LlmError(LlmErrorKind.InvalidRequest, message) { Param = "messages" });

    public void Dispose() => _client.Dispose();
}
