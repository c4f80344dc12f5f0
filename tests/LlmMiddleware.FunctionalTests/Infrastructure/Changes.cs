namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// A signal raised whenever something a test waits for may have changed (a record arrived, a call reached the fake):
/// waiters re-check their condition on each change instead of polling on a timer, and give up after a generous
/// bound that only a broken gateway reaches.
/// </summary>
public sealed class Changes
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes every waiter.</summary>
    public void Notify() => Interlocked.Exchange(ref _next, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Returns once <paramref name="condition"/> holds; fails with <paramref name="failure"/> if it never does.</summary>
    public async Task UntilAsync(Func<bool> condition, string failure)
    {
        using var giveUp = new CancellationTokenSource(Bound);
        while (true)
        {
            var next = Volatile.Read(ref _next).Task; // taken before checking, so a change in between is not missed
            if (condition())
            {
                return;
            }

            try
            {
                await next.WaitAsync(giveUp.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail(failure);
            }
        }
    }
}
