using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using UglyToad.PdfPig;

namespace LlmMiddleware.WebExtract;

/// <summary>
/// A fetched document's readable text: for HTML, the main content (<c>article</c>, <c>main</c> or <c>[role=main]</c>,
/// else the body) without scripts, styles, navigation, headers, footers, asides and forms, one line per block; for PDF,
/// each page's text; for plain text and Markdown, the text itself.
/// </summary>
internal static class ReadableText
{
    private static readonly string[] Noise = ["script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe", "button"];
    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "tr", "table",
        "pre", "blockquote", "br", "hr", "dd", "dt", "figcaption", "details", "summary",
    };

    public static (string Title, string Text)? From(string mediaType, MemoryStream body) => mediaType switch
    {
        "text/html" or "application/xhtml+xml" => Html(Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length)),
        "application/pdf" => Pdf(body.ToArray()),
        "text/plain" or "text/markdown" => ("", Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length).Trim()),
        _ => null,
    };

    private static (string, string) Html(string html)
    {
        var document = new HtmlParser().ParseDocument(html);
        foreach (var element in document.QuerySelectorAll(string.Join(',', Noise)).ToList())
        {
            element.Remove();
        }

        var root = document.QuerySelector("article") ?? document.QuerySelector("main") ?? document.QuerySelector("[role=main]") ?? document.Body ?? document.DocumentElement;
        var text = new StringBuilder();
        Append(root, text);
        return (document.Title?.Trim() ?? "", Tidy(text.ToString()));
    }

    private static void Append(INode node, StringBuilder text)
    {
        foreach (var child in node.ChildNodes)
        {
            if (child is IText leaf)
            {
                text.Append(leaf.Data);
            }
            else if (child is IElement element)
            {
                var block = Blocks.Contains(element.LocalName);
                if (block)
                {
                    text.Append('\n');
                }

                Append(element, text);
                if (block)
                {
                    text.Append('\n');
                }
            }
        }
    }

    private static (string, string) Pdf(byte[] bytes)
    {
        using var document = PdfDocument.Open(bytes);
        var text = new StringBuilder();
        foreach (var page in document.GetPages())
        {
            text.Append(page.Text).Append('\n');
        }

        return (document.Information.Title ?? "", Tidy(text.ToString()));
    }

    // Runs of spaces collapse to one, and blank lines to one.
    private static string Tidy(string text) =>
        string.Join('\n', text.Split('\n').Select(line => string.Join(' ', line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))).Where(line => line.Length > 0));
}
