using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.PostgreSql;

/// <summary>Settings of the PostgreSQL budget and rate-limit store, bound to <c>LlmGateway:RuleStore</c>.</summary>
public sealed class PostgreSqlRuleStoreOptions
{
    /// <summary>The Npgsql connection string.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    /// <summary>The table of rules, one row per budget or limit. Default <c>llm_governance_rules</c>.</summary>
    [Required]
    [RegularExpression(PostgreSqlIdentifiers.Pattern, ErrorMessage = "TableName must be a plain identifier, optionally schema-qualified.")]
    public string TableName { get; set; } = "llm_governance_rules";

    /// <summary>The LISTEN/NOTIFY channel that tells every instance the rules changed. Default <c>llm_governance_rules</c>.</summary>
    [Required]
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]*$", ErrorMessage = "Channel must be a plain identifier.")]
    public string Channel { get; set; } = "llm_governance_rules";

    /// <summary>Create the table if it does not exist, on first use. Default <see langword="true"/>.</summary>
    public bool CreateTable { get; set; } = true;
}
