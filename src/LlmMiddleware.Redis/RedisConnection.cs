using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// The one multiplexer the distributed cache and the semantic store share. It never stops start-up and never holds a
/// call: it connects in the background, reconnects on its own, and while Redis is away commands fail at once (no
/// backlog), which the cache turns into misses.
/// </summary>
internal sealed class RedisConnection(IOptions<RedisCacheStoreOptions> options) : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection = new(() => ConnectAsync(options.Value.ConnectionString));

    public Task<IConnectionMultiplexer> GetAsync() => _connection.Value;

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await (await _connection.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A multiplexer that connects in the background and fails commands at once while Redis is away.</summary>
    internal static async Task<IConnectionMultiplexer> ConnectAsync(string connectionString)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        return await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
    }
}
