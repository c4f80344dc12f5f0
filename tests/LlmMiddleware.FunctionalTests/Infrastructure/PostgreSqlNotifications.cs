using Npgsql;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>The notifications a test listens for on one channel: PostgreSQL's own signal, from any process.</summary>
public sealed class PostgreSqlNotifications : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private long _sum;

    internal PostgreSqlNotifications(NpgsqlConnection connection)
    {
        _connection = connection;
        _connection.Notification += (_, e) => _sum += long.Parse(e.Payload, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until the numbers the notifications carried add up to <paramref name="total"/> (the minute
    /// guards a hang).</summary>
    public async Task WaitForSumAsync(long total)
    {
        using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (_sum < total)
        {
            await _connection.WaitAsync(hang.Token);
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
