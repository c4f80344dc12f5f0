using System.Text.RegularExpressions;
using Xunit;

namespace LlmMiddleware.Tests.Architecture;

/// <summary>
/// The library's folders form layers without cycles, and only the codecs branch on the wire protocol. Read from the
/// source: a folder's files may name types declared in its own folder or a lower one, never a higher one.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>Bottom to top. A capability's folder sits above everything it uses.</summary>
    private static readonly string[] Layers =
    [
        "Utilities", "Abstractions", "Configuration", "Protocols", "Catalog", "Providers", "Deployments", "Pipeline", "Guardrails",
        "Identity", "Telemetry", "Metering", "Caching", "Routing", "Upstream", "Racing", "Governance", "Gateway", "Experiments", "Endpoints",
        "Hosting", "Extensions",
    ];

    private static readonly string Source = Path.Combine(RepositoryRoot(), "src", "LlmMiddleware");

    [Fact]
    public void EveryFolderHasALayer()
    {
        var folders = Directory.GetDirectories(Source).Select(Path.GetFileName).Where(name => name is not ("bin" or "obj"));

        Assert.Empty(folders.Except(Layers));
    }

    [Fact]
    public void NoFolderUsesOneAboveIt()
    {
        var files = SourceFiles().Select(path => (Folder: FolderOf(path), Path: path, Code: Code(File.ReadAllText(path)))).ToList();
        var declaredIn = files
            .SelectMany(file => Declaration().Matches(file.Code).Select(match => (Type: match.Groups["name"].Value, file.Folder)))
            .GroupBy(declaration => declaration.Type)
            .Where(group => group.Select(d => d.Folder).Distinct().Count() == 1) // a name declared in two folders is ambiguous
            .ToDictionary(group => group.Key, group => group.First().Folder);

        var violations =
            from file in files
            from match in TypeReference().Matches(file.Code)
            let type = match.Groups["name"].Value
            where declaredIn.TryGetValue(type, out var folder) && Array.IndexOf(Layers, folder) > Array.IndexOf(Layers, file.Folder)
            select $"{Path.GetRelativePath(Source, file.Path)} ({file.Folder}) uses {type} ({declaredIn[type]})";

        var found = violations.Distinct().ToList();
        Assert.True(found.Count == 0, string.Join(Environment.NewLine, found));
    }

    [Fact]
    public void OnlyTheCodecsBranchOnTheProtocol()
    {
        var branches =
            from path in SourceFiles().Concat(Directory.EnumerateFiles(Path.Combine(Source, "..", "LlmMiddleware.Yarp"), "*.cs"))
            where FolderOf(path) != "Protocols" && !IsBuildOutput(path)
            from match in ProtocolBranch().Matches(Code(File.ReadAllText(path)))
            select $"{Path.GetFileName(path)}: {match.Value}";

        var found = branches.ToList();
        Assert.True(found.Count == 0, string.Join(Environment.NewLine, found));
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories).Where(path => !IsBuildOutput(path));

    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}");

    private static string FolderOf(string path)
    {
        var relative = Path.GetRelativePath(Source, path).Split(Path.DirectorySeparatorChar);
        return relative.Length > 1 ? relative[0] : "";
    }

    /// <summary>The code without comments and string literals, where names in prose would read as uses.</summary>
    private static string Code(string text) => CommentOrString().Replace(text, match => match.Value.StartsWith('/') ? " " : "\"\"");

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LlmMiddleware.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (LlmMiddleware.sln) was not found.");
    }

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:""""|[^""])*""|"""""".*?""""""|""(?:\\.|[^""\\\n])*""", RegexOptions.Singleline)]
    private static partial Regex CommentOrString();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record)\s+(?<name>[A-Z]\w*)|\bdelegate\s+[\w<>?,\s]+?\s(?<name>[A-Z]\w*)\s*[<(]")]
    private static partial Regex Declaration();

    /// <summary>A capitalized name, alone or qualified (<c>Metering.LlmMeter</c>), that is not a member of an instance
    /// (<c>x.Name</c>) or a member's declaration (<c>Name {</c>, <c>Name =></c>).</summary>
    [GeneratedRegex(@"(?<!\b[a-z_]\w*\.|[)\]]\.)(?<!\w)(?<name>[A-Z]\w*)\b(?!\s*(?:\{|=>))")]
    private static partial Regex TypeReference();

    /// <summary>A comparison or switch on a protocol.</summary>
    [GeneratedRegex(@"(?:==|!=)\s*LlmProtocol\.\w+|\bcase\s+LlmProtocol\.|LlmProtocol\.\w+\s*(?:=>|\?|==|!=)|\b(?:Protocol|InboundProtocol|ProviderProtocol)\s*(?:==|!=|switch\b)|\bis\s+LlmProtocol\.")]
    private static partial Regex ProtocolBranch();
}
