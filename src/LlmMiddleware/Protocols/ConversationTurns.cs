namespace LlmMiddleware.Protocols;

/// <summary>
/// Groups the conversation for providers with two roles and strict alternation (Anthropic, Gemini): consecutive
/// messages of the same provider role are merged, tool results ride in the user turn ahead of any user text (so they
/// immediately follow the calls they answer), and parts the provider would reject are left out.
/// </summary>
internal static class ConversationTurns
{
    public static List<(bool Assistant, List<LlmContentPart> Parts)> Merge(List<LlmMessage> messages, Func<LlmContentPart, bool> keep)
    {
        var turns = new List<(bool Assistant, List<LlmContentPart> Parts)>();
        foreach (var message in messages)
        {
            var assistant = message.Role == LlmRole.Assistant;
            var parts = message.Content.Where(keep).ToList();
            if (parts.Count == 0)
            {
                continue;
            }

            if (turns.Count > 0 && turns[^1].Assistant == assistant)
            {
                turns[^1].Parts.AddRange(parts);
            }
            else
            {
                turns.Add((assistant, parts));
            }
        }

        foreach (var (assistant, parts) in turns)
        {
            if (!assistant)
            {
                // Stable: results keep their order, and so does the rest.
                var ordered = parts.OrderBy(p => p is LlmToolResultPart ? 0 : 1).ToList();
                parts.Clear();
                parts.AddRange(ordered);
            }
        }

        return turns;
    }
}
