using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// A real PostgreSQL server for the test run: a fresh cluster made with Debian's <c>initdb</c> in a temporary folder,
/// started with <c>pg_ctl</c> on a free loopback port (through <c>runuser -u postgres</c> when running as root, since
/// initdb refuses root), and removed afterwards. Each test asks for its own database.
/// </summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "llm-pg-" + Guid.NewGuid().ToString("N"));
    private int _port;
    private int _databases;

    public string AdminConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres;Pooling=false";

    public async Task InitializeAsync()
    {
        await DebianPackages.EnsureAsync("postgresql", Path.Combine(BinDirectory, "initdb"));
        Directory.CreateDirectory(_directory);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await DebianPackages.RunAsync("chown", "postgres:postgres", _directory);
        }

        _port = StablePort.Next();
        var data = Path.Combine(_directory, "data");
        await RunPostgresAsync(asRoot, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C");
        await StartAsync();
    }

    /// <summary>Starts the server (again) and returns once it accepts connections.</summary>
    public Task StartAsync() => RunPostgresAsync(Environment.UserName == "root", "pg_ctl", "-D", Path.Combine(_directory, "data"), "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60",
        "-o", $"-p {_port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start");

    /// <summary>Stops the server as an outage would (open connections are cut), keeping its data for <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => RunPostgresAsync(Environment.UserName == "root", "pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", "fast", "-w", "stop");

    public async Task DisposeAsync()
    {
        try
        {
            await RunPostgresAsync(Environment.UserName == "root", "pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"test_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={_port};Username=postgres;Database={name}";
    }

    /// <summary>The rows of <paramref name="table"/>; 0 while the gateway has not yet created it (tables are created
    /// on first write, off the request path).</summary>
    public static async Task<long> RowsAsync(string connectionString, string table) =>
        await ScalarAsync<bool>(connectionString, $"SELECT to_regclass('{table}') IS NOT NULL")
            ? await ScalarAsync<long>(connectionString, $"SELECT count(*) FROM {table}")
            : 0;

    /// <summary>Listens on <paramref name="channel"/> of the database (before what notifies it starts).</summary>
    public static async Task<PostgreSqlNotifications> ListenAsync(string connectionString, string channel)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection);
        await listen.ExecuteNonQueryAsync();
        return new PostgreSqlNotifications(connection);
    }

    /// <summary>Runs a scalar query, on a connection of its own (a pooled one may have been cut by a restart).</summary>
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static Task RunPostgresAsync(bool asRoot, string tool, params string[] args) =>
        asRoot ? DebianPackages.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, tool), .. args]) : DebianPackages.RunAsync(Path.Combine(BinDirectory, tool), args);
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlServer>
{
    public const string Name = "PostgreSQL";
}
