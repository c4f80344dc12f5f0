namespace LlmMiddleware.Protocols;

/// <summary>
/// Groups the conversation for providers with two roles and strict alternation (Anthropic, Gemini): consecutive
/// messages of the same provider role are merged, tool results ride in the user turn ahead of any user text (so they
/// immediately follow the calls they answer), and parts the provider would reject are left out. Mid-conversation
/// system messages stay turns of their own where the provider has them (Anthropic), else join the user turn there.
/// </summary>
internal static class ConversationTurns
{
    public static List<(LlmRole Role, List<LlmContentPart> Parts)> Merge(List<LlmMessage> messages, Func<LlmContentPart, bool> keep, bool systemTurns)
    {
        var turns = new List<(LlmRole Role, List<LlmContentPart> Parts)>();
        foreach (var message in messages)
        {
            var role = message.Role switch
            {
                LlmRole.Assistant => LlmRole.Assistant,
                LlmRole.System when systemTurns => LlmRole.System,
                _ => LlmRole.User,
            };
            var parts = message.Content.Where(keep).ToList();
            if (parts.Count == 0)
            {
                continue;
            }

            if (turns.Count > 0 && turns[^1].Role == role)
            {
                turns[^1].Parts.AddRange(parts);
            }
            else
            {
                turns.Add((role, parts));
            }
        }

        foreach (var (role, parts) in turns)
        {
            if (role == LlmRole.User)
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
