using System.Numerics.Tensors;
using LlmMiddleware.Caching;
using LlmMiddleware.Caching.Semantic;
using Xunit;

namespace LlmMiddleware.Tests.Caching;

/// <summary>The semantic cache's vector partitions: exact flat scans, and an approximate index that finds what the flat
/// scan finds for near-duplicate queries.</summary>
public sealed class SemanticIndexTests
{
    private static readonly LlmCacheEntry Entry = new() { Response = new LlmResponse(), Provider = "p", Model = "m" };

    internal static float[] RandomUnit(Random random, int dimensions)
    {
        var vector = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
        return vector;
    }

    /// <summary>A unit vector at about <paramref name="similarity"/> cosine from <paramref name="of"/>.</summary>
    internal static float[] Near(Random random, float[] of, float similarity)
    {
        var noise = RandomUnit(random, of.Length);
        var projection = TensorPrimitives.Dot(noise, of);
        var orthogonal = new float[of.Length];
        for (var i = 0; i < of.Length; i++)
        {
            orthogonal[i] = noise[i] - (projection * of[i]);
        }

        TensorPrimitives.Divide(orthogonal, TensorPrimitives.Norm(orthogonal), orthogonal);
        var sine = MathF.Sqrt(1 - (similarity * similarity));
        var result = new float[of.Length];
        for (var i = 0; i < of.Length; i++)
        {
            result[i] = (similarity * of[i]) + (sine * orthogonal[i]);
        }

        return result;
    }

    private static (LlmCacheEntry[] Entries, float[][] Vectors, VectorPartition Partition) Fill(int count, int dimensions, int threshold)
    {
        var random = new Random(7);
        var partition = new VectorPartition(dimensions, threshold);
        var entries = new LlmCacheEntry[count];
        var vectors = new float[count][];
        for (var i = 0; i < count; i++)
        {
            entries[i] = new LlmCacheEntry { Response = new LlmResponse { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }, Provider = "p", Model = "m" };
            vectors[i] = RandomUnit(random, dimensions);
            partition.Add(vectors[i], entries[i], long.MaxValue, Guid.NewGuid());
        }

        return (entries, vectors, partition);
    }

    [Fact]
    public void AFlatScanFindsTheMostSimilarEntryAboveTheThreshold()
    {
        var (entries, vectors, partition) = Fill(500, 64, threshold: 100_000);
        var random = new Random(1);
        var query = Near(random, vectors[123], 0.97f);

        var found = partition.Find(query, 0.95f, now: 0);

        Assert.False(partition.IsIndexed);
        Assert.Same(entries[123], found!.Value.Entry);
        Assert.InRange(found.Value.Similarity, 0.96f, 0.98f);
        Assert.Null(partition.Find(query, 0.98f, now: 0));
    }

    [Fact]
    public async Task TheIndexFindsNearDuplicatesAsTheFlatScanDoes()
    {
        // The index is first built when the last vector arrives, so it clusters all of them whatever the machine's
        // speed (a lower threshold builds and rebuilds at counts that depend on when the background builds run).
        var (entries, vectors, partition) = Fill(20_000, 384, threshold: 20_000);
        await partition.FirstIndexed.WaitAsync(TimeSpan.FromSeconds(60)); // built off the request path
        Assert.True(partition.IsIndexed);

        var random = new Random(2);
        var hits = 0;
        for (var q = 0; q < 200; q++)
        {
            var target = random.Next(entries.Length);
            if (partition.Find(Near(random, vectors[target], 0.96f), 0.95f, now: 0) is { } found && ReferenceEquals(found.Entry, entries[target]))
            {
                hits++;
            }
        }

        Assert.True(hits >= 196, $"Recall {hits}/200 is below 98%.");
        Assert.Null(partition.Find(RandomUnit(random, 384), 0.95f, now: 0));
    }

    [Fact]
    public void ExpiredAndRemovedEntriesAreNeverReturned()
    {
        var partition = new VectorPartition(8, 1000);
        var random = new Random(3);
        var expired = RandomUnit(random, 8);
        var removed = RandomUnit(random, 8);
        partition.Add(expired, Entry, expiresAt: 10, Guid.NewGuid());
        var slot = partition.Add(removed, Entry, long.MaxValue, Guid.NewGuid());

        partition.Remove(slot);

        Assert.Null(partition.Find(expired, 0.99f, now: 11));
        Assert.Null(partition.Find(removed, 0.99f, now: 0));
        Assert.NotNull(partition.Find(expired, 0.99f, now: 9));
        Assert.Equal(1, partition.Count);
    }

    [Fact]
    public void TheLexicalEmbedderMatchesRewordingsNotTopics()
    {
        static float Similarity(string a, string b) => TensorPrimitives.Dot<float>(LlmLexicalEmbeddingGenerator.Embed(a), LlmLexicalEmbeddingGenerator.Embed(b));

        Assert.Equal(1f, Similarity("What is the capital of France?", "what is the CAPITAL of france"), 4);
        Assert.InRange(Similarity("What is the capital of France?", "What's the capital of France?"), 0.8f, 0.999f);
        Assert.InRange(Similarity("What is the capital of France?", "How do I bake sourdough bread?"), -0.3f, 0.3f);
        Assert.Equal(LlmLexicalEmbeddingGenerator.Dimensions, LlmLexicalEmbeddingGenerator.Embed("x").Length);
        Assert.Equal(1f, TensorPrimitives.Norm<float>(LlmLexicalEmbeddingGenerator.Embed("naïve café ☕ 東京")), 4);
    }

    [Fact]
    public void AnEntryRoundTripsThroughItsWireForm()
    {
        var response = new LlmResponse { Id = "chatcmpl-1", Model = "gpt-4o-mini", Created = 1_700_000_000, FinishReason = LlmFinishReason.ToolCalls, Usage = new LlmUsage { InputTokens = 11, CachedInputTokens = 3, OutputTokens = 7, ReasoningTokens = 2 } };
        response.Content.Add(new LlmReasoningPart("thinking") { Signature = "sig" });
        response.Content.Add(new LlmTextPart("Hello \"world\" ✓"));
        response.Content.Add(new LlmToolCallPart("call_1", "get_weather", """{"city":"Paris"}"""));
        response.Content.Add(new LlmNativePart(LlmProtocol.OpenAIChat, LlmNativePart.EmbeddingsAnswer, """{"object":"list","data":[]}"""));
        var entry = new LlmCacheEntry { Response = response, Provider = "openai", Model = "gpt-4o-mini", Deployment = "d", Cost = 0.000005625m, PriceVersion = "2026-11-01", CreatedAt = DateTimeOffset.Parse("2026-11-21T12:00:00Z"), Semantic = true };

        var copy = LlmCacheEntrySerializer.Instance.FromBytes(LlmCacheEntrySerializer.Instance.ToBytes(entry));

        Assert.Equal(entry.Cost, copy.Cost);
        Assert.Equal(entry.PriceVersion, copy.PriceVersion);
        Assert.Equal(entry.CreatedAt, copy.CreatedAt);
        Assert.True(copy.Semantic);
        Assert.Equal(response.Usage, copy.Response.Usage);
        Assert.Equal(LlmFinishReason.ToolCalls, copy.Response.FinishReason);
        Assert.Equal("sig", Assert.IsType<LlmReasoningPart>(copy.Response.Content[0]).Signature);
        Assert.Equal("Hello \"world\" ✓", Assert.IsType<LlmTextPart>(copy.Response.Content[1]).Text);
        Assert.Equal("""{"city":"Paris"}""", Assert.IsType<LlmToolCallPart>(copy.Response.Content[2]).ArgumentsJson);
        var native = Assert.IsType<LlmNativePart>(copy.Response.Content[3]);
        Assert.Equal((LlmProtocol.OpenAIChat, "embeddings", """{"object":"list","data":[]}"""), (native.Protocol, native.Type, native.Json));
        Assert.Throws<InvalidDataException>(() => LlmCacheEntrySerializer.Instance.FromBytes("""{"v":0}"""u8.ToArray()));
    }
}
