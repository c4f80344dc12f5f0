using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.PostgreSql;

/// <summary>Settings of the PostgreSQL virtual key store, bound to <c>LlmGateway:KeyStore</c>.</summary>
public sealed class PostgreSqlKeyStoreOptions
{
    /// <summary>The Npgsql connection string.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    /// <summary>The table of keys (their secrets' hashes only). Default <c>llm_virtual_keys</c>.</summary>
    [Required]
    [RegularExpression(PostgreSqlIdentifiers.Pattern, ErrorMessage = "TableName must be a plain identifier, optionally schema-qualified.")]
    public string TableName { get; set; } = "llm_virtual_keys";

    /// <summary>The LISTEN/NOTIFY channel that tells every instance which key changed. Default <c>llm_virtual_keys</c>.</summary>
    [Required]
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]*$", ErrorMessage = "Channel must be a plain identifier.")]
    public string Channel { get; set; } = "llm_virtual_keys";

    /// <summary>Create the table if it does not exist, on first use. Default <see langword="true"/>.</summary>
    public bool CreateTable { get; set; } = true;
}
