using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// Budgets and rate limits in a PostgreSQL table, one row per rule (so changes made on two instances at once never
/// overwrite each other), each change announced on a LISTEN/NOTIFY channel; watchers re-read the (few) rules on each.
/// A marker row records that the table was seeded, in the seeding transaction, so only the first instance seeds it.
/// </summary>
internal sealed class PostgreSqlGovernanceRuleStore : ILlmGovernanceRuleStore, IAsyncDisposable
{
    private const string Marker = "seeded";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlSchema _schema;
    private readonly PostgreSqlRuleStoreOptions _options;
    private readonly string _table;

    public PostgreSqlGovernanceRuleStore(IOptions<PostgreSqlRuleStoreOptions> options)
    {
        _options = options.Value;
        _table = _options.TableName;
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        _schema = new PostgreSqlSchema(_dataSource, $"CREATE TABLE IF NOT EXISTS {_table} (kind text NOT NULL, slot text NOT NULL, rule jsonb, PRIMARY KEY (kind, slot))", _options.CreateTable);
    }

    public async ValueTask SeedAsync(LlmGovernanceRules configured, CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var mark = new NpgsqlCommand($"INSERT INTO {_table} (kind, slot) VALUES ('{Marker}', '') ON CONFLICT DO NOTHING", connection, transaction))
        {
            if (await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return; // seeded before, by this or another instance
            }
        }

        foreach (var budget in configured.Budgets)
        {
            await UpsertAsync(connection, transaction, "budget", Slot(budget.Scope, budget.Subject, budget.Period), budget, cancellationToken).ConfigureAwait(false);
        }

        foreach (var limit in configured.RateLimits)
        {
            await UpsertAsync(connection, transaction, "limit", Slot(limit.Scope, limit.Subject), limit, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<LlmGovernanceRules> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var listener = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var changed = 0;
        listener.Notification += (_, _) => Interlocked.Exchange(ref changed, 1);
        await using (var listen = new NpgsqlCommand($"LISTEN \"{_options.Channel}\"", listener))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        yield return await ReadAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // Notifications are delivered while the connection waits; any number of them means: read the rules again.
            await listener.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref changed, 0) == 1)
            {
                yield return await ReadAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask SetBudgetAsync(LlmBudget budget, CancellationToken cancellationToken) =>
        await ChangeAsync("budget", Slot(budget.Scope, budget.Subject, budget.Period), budget, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> RemoveBudgetAsync(LlmBudgetScope scope, string subject, LlmBudgetPeriod period, CancellationToken cancellationToken) =>
        await ChangeAsync("budget", Slot(scope, subject, period), null, cancellationToken).ConfigureAwait(false);

    public async ValueTask SetRateLimitAsync(LlmRateLimit limit, CancellationToken cancellationToken) =>
        await ChangeAsync("limit", Slot(limit.Scope, limit.Subject), limit, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> RemoveRateLimitAsync(LlmRateLimitScope scope, string subject, CancellationToken cancellationToken) =>
        await ChangeAsync("limit", Slot(scope, subject), null, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        _schema.Dispose();
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Upserts (or, with no rule, deletes) one rule and announces it, in one transaction; returns whether a row changed.</summary>
    private async ValueTask<bool> ChangeAsync(string kind, string slot, object? rule, CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var changed = rule is null
            ? await DeleteAsync(connection, transaction, kind, slot, cancellationToken).ConfigureAwait(false)
            : await UpsertAsync(connection, transaction, kind, slot, rule, cancellationToken).ConfigureAwait(false);
        await using (var notify = new NpgsqlCommand($"SELECT pg_notify('{_options.Channel}', '')", connection, transaction))
        {
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed;
    }

    private async Task<bool> UpsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string kind, string slot, object rule, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"INSERT INTO {_table} (kind, slot, rule) VALUES (@kind, @slot, @rule::jsonb) ON CONFLICT (kind, slot) DO UPDATE SET rule = excluded.rule", connection, transaction);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("slot", slot);
        command.Parameters.AddWithValue("rule", JsonSerializer.Serialize(rule, rule.GetType(), Json));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<bool> DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string kind, string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"DELETE FROM {_table} WHERE kind = @kind AND slot = @slot", connection, transaction);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("slot", slot);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<LlmGovernanceRules> ReadAsync(CancellationToken cancellationToken)
    {
        var (budgets, limits) = (new List<LlmBudget>(), new List<LlmRateLimit>());
        await using var command = _dataSource.CreateCommand($"SELECT kind, rule::text FROM {_table} WHERE kind IN ('budget', 'limit') ORDER BY kind, slot");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetString(0) == "budget")
            {
                budgets.Add(JsonSerializer.Deserialize<LlmBudget>(reader.GetString(1), Json)!);
            }
            else
            {
                limits.Add(JsonSerializer.Deserialize<LlmRateLimit>(reader.GetString(1), Json)!);
            }
        }

        return new LlmGovernanceRules(budgets, limits);
    }

    private static string Slot<TScope>(TScope scope, string subject, LlmBudgetPeriod? period = null)
        where TScope : struct, Enum => period is { } p ? $"{scope}/{p}/{subject}" : $"{scope}/{subject}";
}
