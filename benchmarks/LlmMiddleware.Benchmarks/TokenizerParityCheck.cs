using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmMiddleware.Tokenizers;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Checks the tokenizer against OpenAI's tiktoken on every document of <see cref="RealisticCorpus"/> (both encodings),
/// and reports where Microsoft.ML.Tokenizers differs from tiktoken. Needs node and <c>npm install</c> in
/// <c>Oracle/</c>; run with <c>dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- corpus-parity</c>.
/// </summary>
public static class TokenizerParityCheck
{
    public static int Run()
    {
        var documents = RealisticCorpus.Documents;
        Console.WriteLine(RealisticCorpus.Describe());
        var input = Path.GetTempFileName();
        File.WriteAllText(input, JsonSerializer.Serialize(documents));
        var oracle = Path.Combine(RealisticCorpus.FindRepository(), "benchmarks", "LlmMiddleware.Benchmarks", "Oracle", "corpus-ids.mjs");
        var info = new ProcessStartInfo("node", [oracle, input]) { RedirectStandardOutput = true, WorkingDirectory = Path.GetDirectoryName(oracle)! };
        using var node = Process.Start(info)!;
        var expected = JsonSerializer.Deserialize<Dictionary<string, string[]>>(node.StandardOutput.ReadToEnd())!;
        node.WaitForExit();
        File.Delete(input);

        var failures = 0;
        foreach (var (name, hashes) in expected)
        {
            var ours = TiktokenEncoding.GetEncoding(name);
            var ml = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding(name);
            int oursDiffer = 0, mlDiffer = 0;
            for (var i = 0; i < documents.Count; i++)
            {
                oursDiffer += Hash(ours.EncodeOrdinary(documents[i])) == hashes[i] ? 0 : 1;
                mlDiffer += documents[i].Contains("<|", StringComparison.Ordinal) || Hash([.. ml.EncodeToIds(documents[i])]) == hashes[i] ? 0 : 1;
            }

            Console.WriteLine($"{name}: {documents.Count} documents; ours differs from tiktoken on {oursDiffer}, Microsoft.ML.Tokenizers on {mlDiffer}");
            failures += oursDiffer;
        }

        return failures == 0 ? 0 : 1;
    }

    private static string Hash(int[] ids) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(',', ids))));
}
