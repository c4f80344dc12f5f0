using System.Runtime.CompilerServices;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LlmMiddleware.Upstream;

/// <summary>Reads a caller's body into a pooled buffer, refusing anything over the limit with a 413.</summary>
internal static class RequestBody
{
    private const int InitialCapacityLimit = 64 * 1024;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<PooledBufferWriter> ReadAsync(HttpRequest request, long max, CancellationToken cancellationToken)
    {
        if (request.ContentLength > max)
        {
            throw TooLarge(max);
        }

        // The gateway's own limit governs, rather than the server's default (Kestrel: 30 MB).
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max;
        }

        // Sized for what has arrived, not for what the caller claims: a slow sender announcing 32 MB pins nothing.
        var buffer = new PooledBufferWriter((int)Math.Clamp(request.ContentLength ?? 4096, 256, Math.Min(max, InitialCapacityLimit)));
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(8192);
                int read;
                try
                {
                    read = await request.Body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
                }
                catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    throw TooLarge(max);
                }
                catch (BadHttpRequestException ex)
                {
                    throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, $"The request body could not be read: {ex.Message}"));
                }

                if (read == 0)
                {
                    return buffer;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > max)
                {
                    throw TooLarge(max);
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    private static LlmGatewayException TooLarge(long max) =>
        new(new LlmError(LlmErrorKind.RequestTooLarge, $"The request body exceeds the gateway's limit of {max} bytes."));
}
