using System.IO.Compression;
using System.Text;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// A varied corpus of at least 12 MB built from files every Debian machine of this kind has, so measurements are not
/// flattered by this repository's own text: manual pages in thirteen languages (Latin, Cyrillic and CJK scripts),
/// English licences, source code in five languages, JSON, XML documentation and system logs. Files are taken in path
/// order up to a budget per kind and interleaved with a fixed seed, so runs on one machine build the same corpus, and
/// machines of this kind nearly the same one (system logs grow, installed packages add copyright files).
/// <see cref="Describe"/> says what it holds.
/// </summary>
public static class RealisticCorpus
{
    private static readonly (string Kind, string Root, string[] Patterns, int Budget)[] Sources =
    [
        ("prose:de", "/usr/share/man/de", ["*.gz"], 700_000),
        ("prose:fr", "/usr/share/man/fr", ["*.gz"], 700_000),
        ("prose:ja", "/usr/share/man/ja", ["*.gz"], 600_000),
        ("prose:ru", "/usr/share/man/ru", ["*.gz"], 600_000),
        ("prose:zh", "/usr/share/man/zh_CN", ["*.gz"], 500_000),
        ("prose:ko", "/usr/share/man/ko", ["*.gz"], 400_000),
        ("prose:pl", "/usr/share/man/pl", ["*.gz"], 400_000),
        ("prose:es+it+pt+tr+sv+nl+cs", "/usr/share/man", ["es/*.gz", "it/*.gz", "pt_BR/*.gz", "tr/*.gz", "sv/*.gz", "nl/*.gz", "cs/*.gz"], 1_200_000),
        ("prose:en", "/usr/share/common-licenses", ["*"], 600_000),
        ("prose:en-copyright", "/usr/share/doc", ["copyright"], 900_000),
        ("code:python", "/usr/lib/python3.11", ["*.py"], 1_000_000),
        ("code:c", "/usr/include", ["*.h"], 1_000_000),
        ("code:javascript", "/usr/lib/node_modules/npm", ["*.js"], 1_000_000),
        ("code:perl", "/usr/share/perl", ["*.pm"], 700_000),
        ("code:csharp", "src", ["*.cs"], 300_000),
        ("json", "/usr/lib/node_modules/npm", ["*.json"], 700_000),
        ("json:deps", "/usr/share/dotnet/shared", ["*.deps.json"], 500_000),
        ("xml", "/usr/share/dotnet/packs", ["*.xml"], 800_000),
        ("logs", "/var/log", ["*.log"], 400_000),
    ];

    private static readonly Lazy<(string Text, string Description)> Built = new(Build);

    /// <summary>The corpus text.</summary>
    public static string Text => Built.Value.Text;

    /// <summary>What the corpus holds: bytes per kind.</summary>
    public static string Describe() => Built.Value.Description;

    /// <summary>The corpus as its files (each a document of one kind), for per-document measurements.</summary>
    public static IReadOnlyList<string> Documents => BuiltDocuments.Value.Select(d => d.Text).ToList();

    /// <summary>The documents with their kind (<c>prose:de</c>, <c>code:c</c>, ...), in corpus order.</summary>
    public static IReadOnlyList<(string Kind, string Text)> DocumentsByKind => BuiltDocuments.Value;

    private static readonly Lazy<List<(string Kind, string Text)>> BuiltDocuments = new(Collect);

    private static (string, string) Build()
    {
        var documents = Collect();
        var text = string.Concat(documents.Select(d => d.Text));
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes < 10_000_000)
        {
            throw new InvalidOperationException($"The realistic corpus came to {bytes} bytes, under 10 MB: this machine lacks the files it is built from.");
        }

        var description = new StringBuilder($"{bytes / 1e6:F1} MB, {documents.Count} documents: ");
        description.AppendJoin(", ", documents.GroupBy(d => d.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Sum(d => Encoding.UTF8.GetByteCount(d.Text)) / 1e6:F2} MB"));
        return (text, description.ToString());
    }

    private static List<(string Kind, string Text)> Collect()
    {
        var repository = FindRepository();
        var documents = new List<(string Kind, string Text)>();
        foreach (var (kind, root, patterns, budget) in Sources)
        {
            var directory = Path.IsPathRooted(root) ? root : Path.Combine(repository, root);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            var taken = 0;
            var files = patterns.SelectMany(p => Directory.EnumerateFiles(directory, Path.GetFileName(p), new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                    .Where(f => Path.GetDirectoryName(p) is not { Length: > 0 } sub || f.StartsWith(Path.Combine(directory, sub) + "/", StringComparison.Ordinal)))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                if (taken >= budget || Read(file) is not { Length: > 0 } text)
                {
                    continue;
                }

                documents.Add((kind, text));
                taken += Encoding.UTF8.GetByteCount(text);
            }
        }

        // Interleave the kinds, as a gateway sees them: one fixed shuffle of whole documents.
        var random = new Random(20261202);
        return [.. documents.OrderBy(_ => random.Next())];
    }

    private static string? Read(string file)
    {
        try
        {
            var info = new FileInfo(file);
            if (info.Length is 0 or > 2_000_000 || info.LinkTarget is not null)
            {
                return null;
            }

            using Stream stream = file.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(File.OpenRead(file), CompressionMode.Decompress) : File.OpenRead(file);
            using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException or InvalidDataException)
        {
            return null; // not text, not UTF-8, or not readable: left out
        }
    }

    /// <summary>The repository this benchmark runs from.</summary>
    public static string FindRepository()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LlmMiddleware.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? Directory.GetCurrentDirectory();
    }
}
