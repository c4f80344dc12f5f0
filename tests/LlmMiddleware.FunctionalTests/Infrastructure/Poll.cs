namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>Waits for a condition a test cannot be signalled about (another process's table, key space or connection).</summary>
public static class Poll
{
    /// <summary>Checks <paramref name="condition"/> every 10 ms and fails with <paramref name="failure"/> after
    /// <paramref name="attempts"/> checks.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string failure, int attempts = 500)
    {
        for (var i = 0; !await condition(); i++)
        {
            Assert.True(i < attempts, failure);
            await Task.Delay(10);
        }
    }
}
