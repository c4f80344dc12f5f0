namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>Varied call records, as a busy gateway's ledger holds them: six deployments, cache hits and misses, races,
/// retries, fallbacks, failures, streams, experiments, hundreds of keys and users over 30 days. Same seed, same records.</summary>
internal static class TrafficRecords
{
    private static readonly (string Provider, string Model, string? Deployment)[] Targets =
    [
        ("openai", "gpt-4o-mini", "openai/gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"), ("gemini", "gemini-2.5-flash", null),
        ("openai", "gpt-4o", null), ("mistral", "mistral-small-latest", "mistral/mistral-small-latest"), ("groq", "llama-3.1-8b-instant", null),
    ];

    public static List<LlmCallRecord> Make(int count, int seed, DateTimeOffset end)
    {
        var random = new Random(seed);
        var records = new List<LlmCallRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var (provider, model, deployment) = Targets[random.Next(Targets.Length)];
            var stream = random.Next(2) == 0;
            var cache = (LlmCacheOutcome)random.Next(5);
            var hit = cache is LlmCacheOutcome.HitExact or LlmCacheOutcome.HitSemantic;
            var role = hit ? LlmCallRole.Primary : random.Next(20) switch { 0 => LlmCallRole.RaceWinner, 1 => LlmCallRole.RaceLoser, 2 => LlmCallRole.Judge, _ => LlmCallRole.Primary };
            var status = role == LlmCallRole.RaceLoser ? LlmCallStatus.Cancelled : random.Next(25) switch { 0 => LlmCallStatus.Failed, 1 => LlmCallStatus.StreamBroken, 2 => LlmCallStatus.ClientDisconnected, _ => LlmCallStatus.Succeeded };
            var duration = Math.Round(Math.Exp(random.NextDouble() * 4 + 4), 3); // 55 ms to 3 s, skewed
            var cost = Math.Round((decimal)random.NextDouble() / 100m, 8);
            var experiment = random.Next(10) == 0;
            records.Add(new LlmCallRecord
            {
                Id = Guid.CreateVersion7(),
                RequestId = "req-" + i,
                Timestamp = end.AddMinutes(-random.Next(30 * 24 * 60)),
                Caller = new LlmCallerIdentity { Key = "key-" + random.Next(300), Team = "team-" + random.Next(12), App = "app-" + random.Next(6), User = "user-" + random.Next(2000) },
                Operation = "chat",
                RequestedModel = deployment is null ? model : "pool",
                Provider = provider,
                Deployment = deployment,
                Model = model,
                Stream = stream,
                InputTokens = random.Next(20, 4000),
                OutputTokens = random.Next(1, 1000),
                Cost = hit ? 0m : cost,
                PriceVersion = "test",
                Status = status,
                StatusCode = status == LlmCallStatus.Failed ? 503 : 200,
                Role = role,
                Duration = TimeSpan.FromMilliseconds(duration),
                TimeToFirstToken = stream ? TimeSpan.FromMilliseconds(Math.Round(duration * random.NextDouble(), 3)) : null,
                Cache = cache,
                SavedCost = hit ? cost : null,
                Retries = random.Next(10) == 0 ? random.Next(1, 3) : 0,
                Fallbacks = deployment is not null && random.Next(8) == 0 ? 1 : 0,
                Experiment = experiment ? "trial" : null,
                Arm = experiment ? (random.Next(2) == 0 ? "a" : "b") : null,
                Task = experiment ? "summaries" : null,
            });
        }

        return records;
    }
}
