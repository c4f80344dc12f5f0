using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.PostgreSql;

/// <summary>Settings of the PostgreSQL call-record ledger, bound to <c>LlmGateway:Ledger</c>.</summary>
public sealed class PostgreSqlLedgerOptions
{
    /// <summary>The Npgsql connection string.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    /// <summary>The table (optionally schema-qualified) that holds the records. Default <c>llm_call_records</c>.</summary>
    [Required]
    [RegularExpression(PostgreSqlIdentifiers.Pattern, ErrorMessage = "TableName must be a plain identifier, optionally schema-qualified.")]
    public string TableName { get; set; } = "llm_call_records";

    /// <summary>The table (optionally schema-qualified) that holds the experiment judge's verdicts, by judged record
    /// (<see cref="ILlmJudgementStore"/>). Default <c>llm_judgements</c>.</summary>
    [Required]
    [RegularExpression(PostgreSqlIdentifiers.Pattern, ErrorMessage = "JudgementsTableName must be a plain identifier, optionally schema-qualified.")]
    public string JudgementsTableName { get; set; } = "llm_judgements";

    /// <summary>Create the tables and their indexes if they do not exist, on first write, with the daily rollups
    /// (<c>{TableName}_daily</c>, <c>{TableName}_latency</c>) and the trigger that keeps them, which spend by model or
    /// day and traffic reports read. Default <see langword="true"/>; when <see langword="false"/>, the host creates them.</summary>
    public bool CreateTable { get; set; } = true;

    /// <summary>
    /// The channel notified with the number of records each batch added (<c>pg_notify</c>, at commit), so a dashboard
    /// or another service learns of new records without polling: <c>LISTEN "llm_call_records"</c> (quoted: the name
    /// keeps its case). Empty for none. Default <c>llm_call_records</c>.
    /// </summary>
    [RegularExpression("^([A-Za-z_][A-Za-z0-9_]*)?$", ErrorMessage = "NotifyChannel must be a plain identifier, or empty for none.")]
    public string NotifyChannel { get; set; } = "llm_call_records";
}
