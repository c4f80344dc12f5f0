using System.ClientModel;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>The official OpenAI SDK pointed at a gateway, and waits on what a gateway reports.</summary>
public static class Sdks
{
    /// <summary>An OpenAI chat client for <paramref name="model"/> on <paramref name="gateway"/>, sending
    /// <paramref name="key"/> as its API key, without the SDK's retries (a refusal is the test's to see).</summary>
    public static ChatClient OpenAI(GatewayHost gateway, string key, string model = "gpt") =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) }).GetChatClient(model);

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking it each time the gateway records a
    /// measurement of <paramref name="signal"/> (keys or rules taken in from a shared store, say).</summary>
    public static async Task UntilAsync(MetricCollector<long> signal, Func<bool> condition)
    {
        while (true)
        {
            var seen = signal.GetMeasurementSnapshot().Count; // before the check: a measurement after it is waited for
            if (condition())
            {
                return;
            }

            await signal.WaitForMeasurementsAsync(seen + 1, TimeSpan.FromSeconds(30));
        }
    }
}
