namespace LlmMiddleware.Protocols;

/// <summary><c>data:&lt;mime&gt;;base64,&lt;data&gt;</c> URLs.</summary>
internal static class DataUrl
{
    public static bool TryParse(string url, out string mediaType, out string data)
    {
        mediaType = "";
        data = "";
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var comma = url.IndexOf(',');
        var marker = url.IndexOf(";base64", StringComparison.OrdinalIgnoreCase);
        if (comma < 0 || marker < 0 || marker > comma)
        {
            return false;
        }

        mediaType = url[5..marker];
        data = url[(comma + 1)..];
        return true;
    }

    public static string Create(string mediaType, string data) => $"data:{mediaType};base64,{data}";
}
