using System.Diagnostics.Metrics;
using System.Text.Json;
using LlmMiddleware.Gateway;
using LlmMiddleware.Identity;
using LlmMiddleware.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Experiments.Judging;

/// <summary>
/// Judges the sampled answers off the calls' path: asks the judge model, in process through the gateway's own chat
/// handling (so its calls are routed, metered and attributed like any other — role <see cref="LlmCallRole.Judge"/>,
/// the judged experiment and arm), for a score from 1 to 10 and a rationale under the task's rubric, and keeps the
/// verdict. Counted in <c>llm_gateway.judge.judgements</c> by outcome (scored, failed).
/// </summary>
internal sealed partial class JudgeWorker(JudgeSampler sampler, CallFraming framing, IServiceProvider services, ILlmJudgementStore store, IOptions<LlmJudgeOptions> options, TimeProvider time, IMeterFactory meters, ILogger<JudgeWorker> logger) : BackgroundService
{
    private static readonly LlmCallerIdentity Judge = new() { Key = "llm-judge", App = "llm-judge" };

    private readonly Counter<long> _judgements = meters.Create("LlmMiddleware").CreateCounter<long>("llm_gateway.judge.judgements", "{answer}", "Experiment answers the judge was asked to score, by llm_gateway.judge.outcome: scored, or failed (the judge's call failed or its verdict was unreadable).");

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        sampler.IsOn ? Task.WhenAll(Enumerable.Range(0, options.Value.Concurrency).Select(_ => JudgeAllAsync(stoppingToken))) : Task.CompletedTask;

    private async Task JudgeAllAsync(CancellationToken stopping)
    {
        await foreach (var item in sampler.Queue.ReadAllAsync(stopping).ConfigureAwait(false))
        {
            string outcome;
            try
            {
                await store.AddAsync(await JudgeAsync(item, stopping).ConfigureAwait(false), stopping).ConfigureAwait(false);
                outcome = "scored";
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.JudgeFailed(logger, item.Assignment.Experiment, item.Assignment.Arm, ex);
                outcome = "failed";
            }

            _judgements.Add(1, new KeyValuePair<string, object?>("llm_gateway.judge.outcome", outcome));
        }
    }

    private async Task<LlmJudgement> JudgeAsync(JudgeItem item, CancellationToken cancellationToken)
    {
        var rubric = item.Task is { } task && options.Value.Rubrics.TryGetValue(task, out var own) ? own : LlmJudgeOptions.GeneralRubric;
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["model"] = options.Value.Model!,
            ["temperature"] = 0,
            ["max_tokens"] = 400,
            ["messages"] = new object[]
            {
                new { role = "system", content = $"You judge answers given by AI models. {rubric}\nReply with JSON only: {{\"score\": <1-10>, \"rationale\": \"<one or two sentences>\"}}." },
                new { role = "user", content = $"The request:\n{item.Prompt}\nThe answer:\n{item.Answer}" },
            },
        });
        var http = new DefaultHttpContext { RequestServices = services, RequestAborted = cancellationToken };
        (http.Request.Method, http.Request.Path, http.Request.ContentType, http.Request.ContentLength) = (HttpMethods.Post, "/v1/chat/completions", "application/json", body.Length);
        http.Request.Body = new MemoryStream(body);
        var response = new MemoryStream();
        http.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(response));
        http.Features.Set(new LlmCallerFeature(Judge));
        http.Features.Set(new JudgeCallFeature(item.Assignment));
        if (item.Task is not null)
        {
            http.Features.Set(new LlmTaskAttribute(item.Task));
        }

        await framing.HandleChatAsync(http, LlmProtocol.OpenAIChat).ConfigureAwait(false);
        using var answer = JsonDocument.Parse(response.ToArray());
        if (http.Response.StatusCode is < 200 or >= 300)
        {
            throw new InvalidOperationException($"The judge '{options.Value.Model}' failed ({http.Response.StatusCode}): {Protocols.Json.String(Protocols.Json.Property(answer.RootElement, "error"u8), "message"u8)}");
        }

        var content = answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "";
        var (score, rationale) = Verdict.Read(content);
        return new LlmJudgement(item.RecordId, item.Assignment.Experiment, item.Assignment.Arm, item.Task, score, rationale, time.GetUtcNow());
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Warning, "The judge could not score an answer of experiment {Experiment}, arm {Arm}.", EventName = "JudgeFailed")]
        public static partial void JudgeFailed(ILogger logger, string experiment, string arm, Exception exception);
    }
}
