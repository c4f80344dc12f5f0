using LlmMiddleware;
using LlmMiddleware.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the PostgreSQL call-record ledger.</summary>
public static class PostgreSqlLedgerGatewayBuilderExtensions
{
    /// <summary>
    /// Stores every call record in PostgreSQL (table <c>llm_call_records</c> by default, created on first write), bound
    /// to <c>LlmGateway:Ledger</c> and then <paramref name="configure"/>. Writes are batched off the request path; a
    /// graceful stop flushes everything, an abrupt kill loses at most <see cref="LlmMeteringOptions.FlushInterval"/>.
    /// Spend reports (<see cref="ILlmSpendReport"/>, the admin API's) then come from the table — every instance's
    /// records — as does the traffic per deployment (<see cref="ILlmTrafficReport"/>), and budgets counted in memory start each account from what the table holds (<see cref="ILlmSpendHistory"/>).
    /// The experiment judge's verdicts are kept beside them (<c>llm_judgements</c>, <see cref="ILlmJudgementStore"/>), and
    /// experiments' reports count every instance's calls from the table.
    /// </summary>
    public static ILlmGatewayBuilder AddPostgreSqlLedger(this ILlmGatewayBuilder builder, Action<PostgreSqlLedgerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PostgreSqlLedgerOptions>().BindConfiguration("LlmGateway:Ledger").ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<PostgreSqlCallLedger>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILlmCallRecordSink, PostgreSqlCallLedger>(sp => sp.GetRequiredService<PostgreSqlCallLedger>()));
        builder.Services.TryAddSingleton(sp => new PostgreSqlSpendReport(sp.GetRequiredService<PostgreSqlCallLedger>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmSpendReport>(sp => sp.GetRequiredService<PostgreSqlSpendReport>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmSpendHistory>(sp => sp.GetRequiredService<PostgreSqlSpendReport>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmTrafficReport, PostgreSqlTrafficReport>());
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmJudgementStore, PostgreSqlJudgementStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<LlmMiddleware.Experiments.Reports.IExperimentTallies, PostgreSqlExperimentTallies>());
        return builder;
    }

    /// <summary>Stores every call record in the PostgreSQL database at <paramref name="connectionString"/>.</summary>
    public static ILlmGatewayBuilder AddPostgreSqlLedger(this ILlmGatewayBuilder builder, string connectionString) =>
        builder.AddPostgreSqlLedger(o => o.ConnectionString = connectionString);
}
