using System.Diagnostics;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> (Debian's package, installed if missing) on a free loopback port, without persistence.
/// Tests can stop it and start it again on the same port to play Redis going away. Each test isolates itself with its
/// own key prefix and channel.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private const string Executable = "/usr/bin/redis-server";
    private Process? _process;

    public int Port { get; private set; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public async Task InitializeAsync()
    {
        await DebianPackages.EnsureAsync("redis-server", Executable);
        Port = StablePort.Next();
        await StartAsync();
    }

    public Task DisposeAsync() => StopAsync();

    /// <summary>Starts the server and returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) =>
        {
            lock (output)
            {
                ready.TrySetException(new InvalidOperationException("redis-server exited: " + output));
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromMinutes(1));
    }

    /// <summary>Waits until the server holds at least <paramref name="count"/> keys matching <paramref name="pattern"/>
    /// (the gateway writes them off the request path), woken by Redis's own keyspace notifications.</summary>
    public async Task WaitForKeysAsync(string pattern, int count = 1)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true");
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        await server.ConfigSetAsync("notify-keyspace-events", "KA");
        var changed = System.Threading.Channels.Channel.CreateUnbounded<bool>();
        await connection.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Pattern("__keyspace@0__:" + pattern), (_, _) => changed.Writer.TryWrite(true));
        using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (server.Keys(pattern: pattern).Count() < count) // counted after subscribing, so a write in between is not missed
        {
            await changed.Reader.ReadAsync(hang.Token);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking it whenever a key matching
    /// <paramref name="pattern"/> changes (Redis's keyspace notifications).</summary>
    public async Task UntilAsync(string pattern, Func<Task<bool>> condition)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true");
        await connection.GetServer(connection.GetEndPoints()[0]).ConfigSetAsync("notify-keyspace-events", "KA");
        var changed = System.Threading.Channels.Channel.CreateUnbounded<bool>();
        await connection.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Pattern("__keyspace@0__:" + pattern), (_, _) => changed.Writer.TryWrite(true));
        using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!await condition()) // checked after subscribing, so a write in between is not missed
        {
            await changed.Reader.ReadAsync(hang.Token);
        }
    }

    /// <summary>Starts following the commands the server runs (<c>MONITOR</c>).</summary>
    public Task<RedisMonitor> MonitorAsync() => RedisMonitor.StartAsync(Port, ConnectionString);

    /// <summary>Kills the server (no shutdown courtesy: Redis simply goes away) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "Redis";
}
