namespace LlmMiddleware.Governance;

/// <summary>What a key id may be: it appears in records, metrics and URLs.</summary>
internal static class VirtualKeyIds
{
    public static bool IsValid(string id) =>
        id.Length is > 0 and <= 64 && !id.AsSpan().ContainsAnyExcept(Allowed);

    private static readonly System.Buffers.SearchValues<char> Allowed =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
}
