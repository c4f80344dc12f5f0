using System.Net.Sockets;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// Redis's own <c>MONITOR</c> feed over a plain socket: every command the server runs, in the order it runs them, as
/// one line each. <see cref="CommandsUntilNowAsync"/> reads up to a marker the test sends after, so what the gateway
/// sent before is all there.
/// </summary>
public sealed class RedisMonitor : IAsyncDisposable
{
    private readonly TcpClient _feed;
    private readonly StreamReader _lines;
    private readonly string _connectionString;

    private RedisMonitor(TcpClient feed, string connectionString)
    {
        (_feed, _connectionString) = (feed, connectionString);
        _lines = new StreamReader(feed.GetStream());
    }

    public static async Task<RedisMonitor> StartAsync(int port, string connectionString)
    {
        var feed = new TcpClient();
        await feed.ConnectAsync("127.0.0.1", port);
        await feed.GetStream().WriteAsync("MONITOR\r\n"u8.ToArray());
        var monitor = new RedisMonitor(feed, connectionString);
        Assert.Equal("+OK", await monitor._lines.ReadLineAsync());
        return monitor;
    }

    /// <summary>The commands run since the last call (or the start), up to an <c>ECHO</c> sent now.</summary>
    public async Task<List<string>> CommandsUntilNowAsync()
    {
        var marker = "until-" + Guid.NewGuid().ToString("N");
        await using (var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_connectionString))
        {
            await connection.GetDatabase().ExecuteAsync("ECHO", marker);
        }

        var commands = new List<string>();
        using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (await _lines.ReadLineAsync(hang.Token) is { } line && !line.Contains(marker, StringComparison.Ordinal))
        {
            commands.Add(line);
        }

        return commands;
    }

    public ValueTask DisposeAsync()
    {
        _lines.Dispose();
        _feed.Dispose();
        return ValueTask.CompletedTask;
    }
}
