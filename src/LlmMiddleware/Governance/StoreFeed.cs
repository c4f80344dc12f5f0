using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Governance;

/// <summary>
/// Follows a shared store's change feed (keys, rules): the first snapshot before the gateway serves, then each change
/// in the background; a lost feed is watched again a second later, starting with a full snapshot.
/// </summary>
internal static partial class StoreFeed
{
    private static readonly TimeSpan RewatchDelay = TimeSpan.FromSeconds(1);

    /// <summary>Opens the feed and applies its first snapshot; returns the feed to <see cref="FollowAsync"/>.</summary>
    public static async Task<IAsyncEnumerator<T>> FirstAsync<T>(Func<CancellationToken, IAsyncEnumerable<T>> watch, Action<T> apply, CancellationToken stopping)
    {
        var feed = watch(stopping).GetAsyncEnumerator(stopping);
        try
        {
            if (await feed.MoveNextAsync().ConfigureAwait(false))
            {
                apply(feed.Current);
            }

            return feed;
        }
        catch
        {
            await feed.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Applies every later change until stopped, or until the feed ends (nothing more to follow).</summary>
    public static async Task FollowAsync<T>(IAsyncEnumerator<T> feed, Func<CancellationToken, IAsyncEnumerable<T>> watch, Action<T> apply, string what, TimeProvider time, ILogger logger, CancellationToken stopping)
    {
        while (true)
        {
            try
            {
                while (await feed.MoveNextAsync().ConfigureAwait(false))
                {
                    apply(feed.Current);
                }

                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                Log.FeedLost(logger, what, RewatchDelay, ex);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                await feed.DisposeAsync().ConfigureAwait(false);
            }

            try
            {
                await Task.Delay(RewatchDelay, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            feed = watch(stopping).GetAsyncEnumerator(stopping);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(34, LogLevel.Warning, "Lost the {Store}'s change feed; watching it again (everything reloaded) in {Delay}.", EventName = "StoreFeedLost")]
        public static partial void FeedLost(ILogger logger, string store, TimeSpan delay, Exception exception);
    }
}
