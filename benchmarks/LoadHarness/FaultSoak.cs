using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

/// <summary>
/// The fault soak's client (see benchmarks/fault-soak.sh): calls at a steady rate for --seconds, half of them cache
/// hits (one key, 20 prompts) and half new prompts that go to the upstream, which injects 429s, 500s and hangs. The
/// --stop-command runs at --outage-from seconds and --start-command at --outage-to (a PostgreSQL outage). Prints the
/// target's resident set and GC heap every 30 s, then answers by status and the cache hits' latency before, during and after the
/// outage. The last line is the number of answered calls, for the ledger count.
/// </summary>
internal static class FaultSoak
{
    public static async Task<int> RunAsync(IConfiguration args)
    {
        var seconds = int.Parse(args["seconds"] ?? "600");
        var rate = int.Parse(args["rate"] ?? "40");
        var pid = int.Parse(args["pid"]!);
        var outageFrom = TimeSpan.FromSeconds(int.Parse(args["outage-from"] ?? "180"));
        var outageTo = TimeSpan.FromSeconds(int.Parse(args["outage-to"] ?? "360"));
        using var http = new HttpClient { BaseAddress = new Uri(args["target"]!), Timeout = TimeSpan.FromSeconds(120) };

        var statuses = new ConcurrentDictionary<string, int>();
        var hits = new ConcurrentBag<(TimeSpan At, double Ms)>[3] { [], [], [] };
        var clock = Stopwatch.StartNew();
        var calls = new List<Task>();
        var nextRss = TimeSpan.Zero;
        bool stopped = false, started = false;
        Console.WriteLine("second  rss_mb  heap_mb");
        for (var i = 0; clock.Elapsed < TimeSpan.FromSeconds(seconds); i++)
        {
            // Open loop: call i starts at i / rate seconds whatever the earlier calls are doing.
            var due = TimeSpan.FromSeconds((double)i / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            if (clock.Elapsed >= nextRss)
            {
                Console.WriteLine($"{clock.Elapsed.TotalSeconds,6:F0}  {Soak.Rss(pid),6:F0}  {await Soak.HeapMbAsync(http),7:F0}");
                nextRss += TimeSpan.FromSeconds(30);
            }

            if (!stopped && clock.Elapsed >= outageFrom)
            {
                stopped = true;
                Run(args["stop-command"], "outage starts");
            }

            if (!started && clock.Elapsed >= outageTo)
            {
                started = true;
                Run(args["start-command"], "outage ends");
            }

            calls.Add(CallAsync(http, i, clock, statuses, hits, outageFrom, outageTo));
        }

        await Task.WhenAll(calls);
        Console.WriteLine($"{clock.Elapsed.TotalSeconds,6:F0}  {Soak.Rss(pid),6:F0}  {await Soak.HeapMbAsync(http),7:F0}");
        foreach (var (status, count) in statuses.OrderBy(s => s.Key))
        {
            Console.WriteLine($"answers {status}: {count}");
        }

        string[] phases = ["before the outage", "during the outage", "after the outage"];
        for (var p = 0; p < 3; p++)
        {
            var ms = hits[p].Select(h => h.Ms).Order().ToArray();
            if (ms.Length > 0)
            {
                Console.WriteLine($"cache hits {phases[p]}: {ms.Length}, p50 {ms[ms.Length / 2]:F2} ms, p99 {ms[(int)(ms.Length * 0.99)]:F2} ms, max {ms[^1]:F2} ms");
            }
        }

        Console.WriteLine($"answered: {statuses.Where(s => char.IsDigit(s.Key[0])).Sum(s => s.Value)}");
        return 0;
    }

    private static async Task CallAsync(HttpClient http, int i, Stopwatch clock, ConcurrentDictionary<string, int> statuses,
        ConcurrentBag<(TimeSpan, double)>[] hits, TimeSpan outageFrom, TimeSpan outageTo)
    {
        var hot = i % 2 == 0;
        var prompt = hot ? $"Hello {i % 20}" : $"Tell me about {i}";
        var body = $$"""{"model":"soak","messages":[{"role":"user","content":"{{prompt}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Authorization", hot ? "Bearer soak-hot" : $"Bearer soak-{i % 1000}");
        var started = clock.Elapsed;
        try
        {
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            var ms = (clock.Elapsed - started).TotalMilliseconds;
            statuses.AddOrUpdate(((int)response.StatusCode).ToString(), 1, (_, n) => n + 1);
            if (response.Headers.TryGetValues("x-llm-cache", out var cache) && cache.First() == "hit-exact")
            {
                hits[started < outageFrom ? 0 : started < outageTo ? 1 : 2].Add((started, ms));
            }
        }
        catch (Exception ex)
        {
            statuses.AddOrUpdate("no answer: " + ex.GetType().Name, 1, (_, n) => n + 1);
        }
    }

    private static void Run(string? command, string what)
    {
        Console.WriteLine($"-- {what}");
        if (command is { Length: > 0 })
        {
            _ = Task.Run(() => Process.Start("bash", ["-c", command]).WaitForExit()); // never hold the steady rate back
        }
    }
}
