using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmMiddleware;

/// <summary>
/// A local, dependency-free embedder for the semantic cache: words and their character trigrams hashed into a fixed
/// number of dimensions (the hashing trick), unit length. It matches near-duplicates (the same question with different
/// casing, punctuation, word order or a few words changed), not meaning: "How do I reset my password?" and "password
/// reset steps" are not close. Configure an embeddings model for true semantic matching.
/// </summary>
public sealed class LlmLexicalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The vector size.</summary>
    public const int Dimensions = 384;

    private const float TrigramWeight = 0.5f;
    private static readonly EmbeddingGeneratorMetadata Info = new("llm-middleware-lexical", null, "lexical-v1", Dimensions);

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            result.Add(new Embedding<float>(Embed(value)) { ModelId = Info.DefaultModelId });
        }

        return Task.FromResult(result);
    }

    /// <summary>Embeds one text.</summary>
    public static float[] Embed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vector = new float[Dimensions];
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            else if (word.Length > 0)
            {
                AddWord(vector, word.ToString());
                word.Clear();
            }
        }

        if (word.Length > 0)
        {
            AddWord(vector, word.ToString());
        }

        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }

    private static void AddWord(float[] vector, string word)
    {
        AddFeature(vector, word, 1f);
        var padded = string.Concat(" ", word, " ");
        var elements = StringInfo.ParseCombiningCharacters(padded);
        for (var i = 0; i + 3 <= elements.Length; i++)
        {
            var end = i + 3 < elements.Length ? elements[i + 3] : padded.Length;
            AddFeature(vector, padded.AsSpan(elements[i], end - elements[i]), TrigramWeight);
        }
    }

    /// <summary>FNV-1a over the UTF-16 code units: stable across processes and versions, unlike string hash codes.</summary>
    private static void AddFeature(float[] vector, ReadOnlySpan<char> feature, float weight)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in feature)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        vector[(int)(hash % Dimensions)] += (hash >> 63) == 0 ? weight : -weight;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? Info
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
