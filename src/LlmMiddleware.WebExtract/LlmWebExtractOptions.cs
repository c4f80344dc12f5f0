using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.WebExtract;

/// <summary>Options of the web extract endpoint (<c>LlmGateway:WebExtract</c>).</summary>
public sealed class LlmWebExtractOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmGateway:WebExtract";

    /// <summary>
    /// Hosts pages may be fetched from, each exact (<c>docs.example.com</c>) or a domain with its subdomains
    /// (<c>*.example.com</c>). Every redirect hop must be on it too. Empty (the default): nothing is fetched.
    /// </summary>
    public List<string> AllowedHosts { get; } = [];

    /// <summary>Whether allowed hosts may resolve to private or loopback addresses (an intranet). Default <see langword="false"/>.</summary>
    public bool AllowPrivateHosts { get; set; }

    /// <summary>The largest page fetched, in bytes. Default 5 MB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>How long a fetch may take, redirects and the body included. Default 15 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Redirects followed (each re-checked). Default 3.</summary>
    [Range(0, 10)]
    public int MaxRedirects { get; set; } = 3;

    internal bool Allows(string host) => AllowedHosts.Exists(allowed => allowed.StartsWith("*.", StringComparison.Ordinal)
        ? host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase) || host.Equals(allowed[2..], StringComparison.OrdinalIgnoreCase)
        : host.Equals(allowed, StringComparison.OrdinalIgnoreCase));
}
