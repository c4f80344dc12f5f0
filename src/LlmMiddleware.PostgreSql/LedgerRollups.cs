namespace LlmMiddleware.PostgreSql;

/// <summary>
/// Daily totals of the ledger per provider model and deployment (<c>{table}_daily</c>), and their latency histograms
/// (<c>{table}_latency</c>: calls per bucket of <see cref="Metering.LatencyHistogram"/>), kept by a statement trigger
/// on the ledger — whichever instance, of whichever version, inserts — from the rows actually inserted (a retried
/// batch's duplicates are not). Spend by model or day and traffic per deployment read these few rows, not the ledger's
/// every call; created from the existing rows the first time, under a lock that holds writers back meanwhile.
/// </summary>
internal static class LedgerRollups
{
    /// <summary>What is rolled up per (day, provider, model, deployment), from <c>source</c>: its columns in order.</summary>
    private const string Totals = """
        (ts AT TIME ZONE 'UTC')::date, coalesce(provider, ''), coalesce(model, ''), coalesce(deployment, ''), count(*),
        count(*) FILTER (WHERE role <> 'RaceLoser'), count(*) FILTER (WHERE role <> 'RaceLoser' AND status IN ('Failed', 'StreamBroken')),
        coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost), 0), count(*) FILTER (WHERE unpriced),
        count(*) FILTER (WHERE role <> 'RaceLoser' AND cache IN ('Miss', 'HitExact', 'HitSemantic')), count(*) FILTER (WHERE role <> 'RaceLoser' AND cache IN ('HitExact', 'HitSemantic')),
        coalesce(sum(saved_cost) FILTER (WHERE role <> 'RaceLoser'), 0), coalesce(sum(retries) FILTER (WHERE role <> 'RaceLoser'), 0),
        coalesce(sum(fallbacks) FILTER (WHERE role <> 'RaceLoser'), 0), count(*) FILTER (WHERE role = 'RaceWinner'), count(*) FILTER (WHERE role = 'RaceLoser')
        """;

    private const string Counters = "records, calls, errors, input_tokens, cached_input_tokens, output_tokens, cost, unpriced, cache_lookups, cache_hits, saved_cost, retries, fallbacks, race_wins, race_losses";

    /// <summary>The durations ('d') and streamed times to first token ('t') of the calls a provider answered, bucketed
    /// as <see cref="Metering.LatencyHistogram.BucketOf"/> does (the same libm logarithm, the same constant).</summary>
    private static string Latencies(string source) => $"""
        SELECT (ts AT TIME ZONE 'UTC')::date, provider, coalesce(model, ''), coalesce(deployment, ''), v.kind,
            CASE WHEN v.ms >= 1 THEN 1 + least(floor(ln(v.ms) * {Metering.LatencyHistogram.PerLnLiteral}), {Metering.LatencyHistogram.LastBucket - 1}) ELSE 0 END, count(*)
        FROM {source}, LATERAL (VALUES ('d'::"char", duration_ms), ('t'::"char", CASE WHEN stream THEN time_to_first_token_ms END)) AS v(kind, ms)
        WHERE provider IS NOT NULL AND role <> 'RaceLoser' AND status = 'Succeeded' AND cache NOT IN ('HitExact', 'HitSemantic') AND v.ms IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6
        """;

    public static string Daily(string table) => table + "_daily";

    public static string Latency(string table) => table + "_latency";

    /// <summary>Creates (and first fills) the rollup tables and the trigger that keeps them; runs after the ledger's own DDL.</summary>
    public static string Script(string table)
    {
        var (daily, latency, name) = (Daily(table), Latency(table), table.Replace('.', '_'));
        var key = "day, provider, model, deployment";
        return $$"""
            DO $rollups$ BEGIN
                IF to_regclass('{{daily}}') IS NULL THEN
                    LOCK TABLE {{table}} IN SHARE ROW EXCLUSIVE MODE;
                    CREATE TABLE {{daily}} (day date NOT NULL, provider text NOT NULL, model text NOT NULL, deployment text NOT NULL,
                        records bigint NOT NULL, calls bigint NOT NULL, errors bigint NOT NULL, input_tokens bigint NOT NULL, cached_input_tokens bigint NOT NULL,
                        output_tokens bigint NOT NULL, cost numeric NOT NULL, unpriced bigint NOT NULL, cache_lookups bigint NOT NULL, cache_hits bigint NOT NULL,
                        saved_cost numeric NOT NULL, retries bigint NOT NULL, fallbacks bigint NOT NULL, race_wins bigint NOT NULL, race_losses bigint NOT NULL,
                        PRIMARY KEY ({{key}}));
                    CREATE TABLE {{latency}} (day date NOT NULL, provider text NOT NULL, model text NOT NULL, deployment text NOT NULL, kind "char" NOT NULL,
                        bucket smallint NOT NULL, calls bigint NOT NULL, PRIMARY KEY ({{key}}, kind, bucket));
                    INSERT INTO {{daily}} SELECT {{Totals}} FROM {{table}} GROUP BY 1, 2, 3, 4;
                    INSERT INTO {{latency}} {{Latencies(table)}};
                END IF;
            END $rollups$;
            CREATE OR REPLACE FUNCTION {{name}}_rollup() RETURNS trigger LANGUAGE plpgsql AS $rollup$ BEGIN
                -- In key order, so instances adding to the same days take the rows' locks in the same order.
                INSERT INTO {{daily}} AS d SELECT {{Totals}} FROM added GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
                ON CONFLICT ({{key}}) DO UPDATE SET ({{Counters}}) = ({{Sum("d", Counters)}});
                INSERT INTO {{latency}} AS l {{Latencies("added")}} ORDER BY 1, 2, 3, 4, 5, 6
                ON CONFLICT ({{key}}, kind, bucket) DO UPDATE SET calls = l.calls + excluded.calls;
                RETURN NULL;
            END $rollup$;
            DO $trigger$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgname = '{{name}}_rollup' AND tgrelid = '{{table}}'::regclass) THEN
                    CREATE TRIGGER {{name}}_rollup AFTER INSERT ON {{table}} REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {{name}}_rollup();
                END IF;
            END $trigger$;
            """;
    }

    private static string Sum(string alias, string columns) =>
        string.Join(", ", columns.Split(", ").Select(c => $"{alias}.{c} + excluded.{c}"));

    /// <summary>The condition on a rollup's <c>day</c> for the UTC days <c>@from</c> to <c>@to</c> (inclusive, open when
    /// null; see <see cref="AddDays"/>).</summary>
    public const string InDays = "day >= coalesce(@from, '-infinity'::date) AND day <= coalesce(@to, 'infinity'::date)";

    /// <summary>The same days as a condition on the ledger's <c>ts</c>, which its index serves.</summary>
    public const string TimestampInDays =
        "ts >= coalesce(@from::timestamp AT TIME ZONE 'UTC', '-infinity') AND ts < coalesce((@to + 1)::timestamp AT TIME ZONE 'UTC', 'infinity')";

    public static void AddDays(Npgsql.NpgsqlParameterCollection parameters, DateOnly? from, DateOnly? to)
    {
        parameters.Add(new Npgsql.NpgsqlParameter<DateOnly?>("from", NpgsqlTypes.NpgsqlDbType.Date) { TypedValue = from });
        parameters.Add(new Npgsql.NpgsqlParameter<DateOnly?>("to", NpgsqlTypes.NpgsqlDbType.Date) { TypedValue = to });
    }
}
