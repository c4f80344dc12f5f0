using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

/// <summary>
/// Once the gateway listens, sends it a few dozen calls over HTTP, as a caller would — plain and streamed, to the
/// "default" model and the demo experiment, for a few users — so its dashboard has something to show at once. Only on
/// the simulated provider (nothing is spent); off with <c>--Demo:Traffic=false</c>.
/// </summary>
internal static partial class DemoTraffic
{
    private const int Calls = 40;

    public static void SendWhenStarted(WebApplication app, string? key) =>
        app.Lifetime.ApplicationStarted.Register(() => _ = SendAsync(app, key, app.Lifetime.ApplicationStopping));

    private static async Task SendAsync(WebApplication app, string? key, CancellationToken stopping)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DemoTraffic");
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://[::1]")) };
            http.DefaultRequestHeaders.Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key);
            for (var i = 0; i < Calls; i++)
            {
                var (model, stream) = (i % 2 == 0 ? "demo-experiment" : "default", i % 3 == 0 ? "true" : "false");
                var body = $$"""{"model":"{{model}}","stream":{{stream}},"user":"demo-user-{{i % 4}}","messages":[{"role":"user","content":"Demo question {{i}}: what does a gateway do?"}]}""";
                using var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), stopping);
                await response.Content.ReadAsStringAsync(stopping);
            }

            Log.Sent(logger, Calls);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            Log.Failed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Demo traffic sent: {Calls} calls, for the dashboard.")]
        public static partial void Sent(ILogger logger, int calls);

        [LoggerMessage(2, LogLevel.Warning, "Demo traffic stopped.")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
