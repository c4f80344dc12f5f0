using System.Text.Json;
using LlmMiddleware.Protocols;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LlmMiddleware.Gateway;

/// <summary>
/// A call the gateway makes of itself (the semantic cache's embeddings, the experiment judge): a JSON request handled
/// in process exactly as a caller's would be — routed, metered, recorded — with its answer read back.
/// </summary>
internal static class InProcessCall
{
    /// <summary>Posts <paramref name="body"/> to <paramref name="path"/> through <paramref name="handle"/>, with the
    /// call's <paramref name="features"/> set first; returns the status and the parsed answer (the caller disposes it).</summary>
    public static async Task<(int Status, JsonDocument Answer)> SendAsync(IServiceProvider services, string path, byte[] body, Action<IFeatureCollection> features, Func<HttpContext, Task> handle, CancellationToken cancellationToken)
    {
        var http = new DefaultHttpContext { RequestServices = services, RequestAborted = cancellationToken };
        (http.Request.Method, http.Request.Path, http.Request.ContentType, http.Request.ContentLength) = (HttpMethods.Post, path, "application/json", body.Length);
        http.Request.Body = new MemoryStream(body);
        var response = new MemoryStream();
        http.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(response));
        features(http.Features);
        await handle(http).ConfigureAwait(false);
        return (http.Response.StatusCode, JsonDocument.Parse(response.ToArray()));
    }

    /// <summary>The message of an error answer.</summary>
    public static string? ErrorMessage(JsonDocument answer) => Json.String(Json.Property(answer.RootElement, "error"u8), "message"u8);
}
