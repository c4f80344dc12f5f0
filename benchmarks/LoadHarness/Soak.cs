using System.Diagnostics;
using System.Text;

/// <summary>
/// The memory soak's client: calls with a new bearer key, a new model name and a new system prompt each (hostile
/// variety: every per-key, per-model and per-prompt structure the gateway keeps would grow with them), 16 at a time,
/// printing the target's resident set and GC heap every 10,000 calls and the count of 5xx answers at the end.
/// </summary>
internal static class Soak
{
    public static async Task<int> RunAsync(string target, int requests, int pid)
    {
        using var http = new HttpClient { BaseAddress = new Uri(target), Timeout = TimeSpan.FromSeconds(60) };
        var clock = Stopwatch.StartNew();
        long done = 0, serverErrors = 0;
        Console.WriteLine($"calls  rss_mb  heap_mb  seconds   (target pid {pid}, {requests} calls)");
        Console.WriteLine($"{0,5}  {Rss(pid),6:F0}  {await HeapMbAsync(http),7:F0}  {0,7:F1}");
        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, cancellationToken) =>
        {
            var model = (i % 4) switch { 0 => "default", 1 => "openai/gpt-4o-mini", 2 => $"openai/made-up-{i}", _ => $"nobody/model-{i}" };
            var body = $$"""{"model":"{{model}}","messages":[{"role":"system","content":"You are assistant number {{i}}."},{"role":"user","content":"Hello {{i % 97}}"}]}""";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Authorization", $"Bearer soak-key-{i}");
            using var response = await http.SendAsync(request, cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if ((int)response.StatusCode >= 500)
            {
                Interlocked.Increment(ref serverErrors);
            }

            if (Interlocked.Increment(ref done) % 10_000 == 0)
            {
                Console.WriteLine($"{Volatile.Read(ref done),5}  {Rss(pid),6:F0}  {await HeapMbAsync(http),7:F0}  {clock.Elapsed.TotalSeconds,7:F1}");
            }
        });

        Console.WriteLine($"5xx answers: {serverErrors}");
        return serverErrors == 0 ? 0 : 1;
    }

    /// <summary>The target's GC heap after its last collection, in MB, from the runtime metrics on its /metrics.</summary>
    internal static async Task<double> HeapMbAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("/metrics");
        return text.Split('\n').Where(line => line.StartsWith("dotnet_gc_last_collection_heap_size_bytes{", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)) / 1e6;
    }

    /// <summary>The resident set of <paramref name="pid"/>, in MB, from /proc.</summary>
    internal static double Rss(int pid) =>
        File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] is var kb ? double.Parse(kb) / 1024 : 0;
}
