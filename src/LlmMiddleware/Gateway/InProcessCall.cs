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
        var completion = new CompletingResponse();
        http.Features.Set<IHttpResponseFeature>(completion);
        http.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(response));
        features(http.Features);
        await handle(http).ConfigureAwait(false);
        await completion.CompleteAsync().ConfigureAwait(false);
        return (http.Response.StatusCode, JsonDocument.Parse(response.ToArray()));
    }

    /// <summary>Runs the response's <c>OnCompleted</c> callbacks once the call is handled, as a server would (the
    /// default feature keeps them and never runs them).</summary>
    private sealed class CompletingResponse : HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _completed = [];

        public override void OnCompleted(Func<object, Task> callback, object state) => _completed.Add((callback, state));

        public async Task CompleteAsync()
        {
            for (var i = _completed.Count - 1; i >= 0; i--)
            {
                await _completed[i].Callback(_completed[i].State).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The message of an error answer.</summary>
    public static string? ErrorMessage(JsonDocument answer) => Json.String(Json.Property(answer.RootElement, "error"u8), "message"u8);
}
