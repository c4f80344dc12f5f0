using System.Text;

namespace LlmMiddleware.Caching;

/// <summary>
/// The semantic cache's safety rules: a near neighbour's answer is only given to a short conversation of plain text,
/// without tool results (an agent loop must see its own tools' output), offering no tools unless the policy allows it,
/// within the policy's turn and temperature bounds.
/// </summary>
internal static class SemanticRules
{
    /// <summary>The text to embed when the request may be answered semantically; <see langword="null"/> when not.</summary>
    public static string? Allow(LlmRequest request, ResolvedCachePolicy policy)
    {
        if (request.Temperature > policy.MaxSemanticTemperature || (request.Tools.Count > 0 && !policy.SemanticWithTools))
        {
            return null;
        }

        var userTurns = 0;
        var text = new StringBuilder();
        foreach (var message in request.Messages)
        {
            if (message.Role == LlmRole.Tool)
            {
                return null;
            }

            if (message.Role == LlmRole.User && ++userTurns > policy.MaxSemanticTurns)
            {
                return null;
            }

            if (request.Messages.Count > 1)
            {
                text.Append(message.Role switch { LlmRole.User => "user: ", LlmRole.System => "system: ", _ => "assistant: " });
            }

            foreach (var part in message.Content)
            {
                if (part is not LlmTextPart plain)
                {
                    // Tool calls and results, images, native parts: nothing an embedding of text could stand for.
                    return null;
                }

                text.Append(plain.Text).Append('\n');
            }
        }

        return userTurns == 0 ? null : text.ToString();
    }
}
