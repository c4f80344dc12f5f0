using LlmMiddleware.Gateway;
using LlmMiddleware.Upstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace LlmMiddleware.Yarp;

/// <summary>
/// When YARP cannot reach an LLM route's provider (connection refused, timeout), it answers 502/504 with an empty
/// body, and response transforms never run. This middleware, added around the whole pipeline, turns those into an
/// error in the caller's own protocol and completes the call's context.
/// </summary>
internal sealed class LlmForwarderErrorMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext http)
    {
        await next(http).ConfigureAwait(false);
        if (http.Features.Get<LlmYarpCallState>() is not { Prepared: null } state || http.Features.Get<IForwarderErrorFeature>() is not { } failure)
        {
            return;
        }

        var context = state.Context;
        if (context.Error is null && !http.Response.HasStarted)
        {
            var error = ErrorFor(failure, context.ProviderName);
            context.Error = error;
            await context.Codec.WriteErrorAsync(http.Response, error, http.RequestAborted).ConfigureAwait(false);
        }

        await state.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>What the caller is told when YARP could not get an answer from the provider.</summary>
    public static LlmError ErrorFor(IForwarderErrorFeature failure, string? provider) => failure.Error is ForwarderError.RequestTimedOut
        ? new LlmError(LlmErrorKind.Timeout, $"Provider '{provider}' did not answer in time.")
        : UpstreamErrors.UnreachableError(provider);
}

/// <summary>Places <see cref="LlmForwarderErrorMiddleware"/> around the application's pipeline.</summary>
internal sealed class LlmForwarderErrorStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<LlmForwarderErrorMiddleware>();
        next(app);
    };
}
