using System.Net;
using System.Net.Sockets;

namespace LlmMiddleware.Upstream;

/// <summary>
/// An HTTP client for fetching what callers point at (image URLs, pages to extract), guarded against server-side
/// request forgery: no proxy and no cookies; every connection, each redirect hop included, is checked on the host it
/// asks for (an allow-list's check) and on the address actually connected to (public ones only, unless private ones are
/// allowed). Failures carry nothing the gateway learned about the host.
/// </summary>
internal static class GuardedHttp
{
    public static HttpClient Create(TimeSpan connectTimeout, bool allowPrivate, Func<string, bool>? hostAllowed = null, int maxRedirects = 3)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            AllowAutoRedirect = maxRedirects > 0, // each hop connects through ConnectAsync, so the checks apply to it too
            MaxAutomaticRedirections = Math.Max(maxRedirects, 1),
            UseCookies = false,
            UseProxy = false, // a proxy would connect on the gateway's behalf, past the address check
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, allowPrivate, hostAllowed, cancellationToken),
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, Func<string, bool>? hostAllowed, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        if (hostAllowed?.Invoke(host) == false)
        {
            throw new HttpRequestException($"host '{host}' is not allowed");
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = allowPrivate ? addresses : Array.FindAll(addresses, IsPublic);
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"host '{host}' resolves to no public address");
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

    /// <summary>Reads a response body of at most <paramref name="max"/> bytes; <see langword="null"/> when it is larger.</summary>
    public static async Task<MemoryStream?> ReadLimitedAsync(HttpResponseMessage response, long max, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > max)
        {
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer;
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
            // NAT64 (64:ff9b::/96, and the local-use 64:ff9b:1::/48) reaches IPv4 addresses, private ones included,
            // through the translator.
            var v6 = address.GetAddressBytes();
            var nat64 = v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b &&
                (v6.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0 || (v6[4] == 0x00 && v6[5] == 0x01));
            return !nat64;
        }

        var b = address.GetAddressBytes();
        return !(b[0] == 10 || b[0] == 127 || b[0] == 0 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168) ||
                 (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127));
    }
}
