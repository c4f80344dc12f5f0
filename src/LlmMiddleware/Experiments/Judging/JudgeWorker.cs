using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmMiddleware.Gateway;
using LlmMiddleware.Identity;
using LlmMiddleware.Pipeline;
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
        if (options.Value.Scoring == LlmJudgeScoring.Absolute)
        {
            var reply = await CompleteAsync(JudgeBody(
                $"You judge answers given by AI models. {rubric}\nReply with JSON only: {{\"score\": <1-10>, \"rationale\": \"<one or two sentences>\"}}.",
                $"The request:\n{item.Prompt}\nThe answer:\n{item.Answer}"), item.Assignment, item.Task, cancellationToken).ConfigureAwait(false);
            var (score, rationale) = Verdict.Read(reply);
            return new LlmJudgement(item.RecordId, item.Assignment.Experiment, item.Assignment.Arm, item.Task, score, rationale, time.GetUtcNow());
        }

        // The other arm answers the same request (the judge's spend, on that arm), then the two are compared, in an
        // order drawn at random: judges favour a position.
        var other = await CompleteAsync(Replay(item.Request, item.Opponent.Model), item.Assignment with { Arm = item.Opponent.Name }, item.Task, cancellationToken).ConfigureAwait(false);
        var judgedFirst = Random.Shared.Next(2) == 0;
        var (a, b) = judgedFirst ? (item.Answer, other) : (other, item.Answer);
        var verdict = await CompleteAsync(JudgeBody(
            $"You compare two answers AI models gave to the same request. {rubric}\nReply with JSON only: {{\"winner\": \"A\" | \"B\" | \"tie\", \"rationale\": \"<one or two sentences>\"}}.",
            $"The request:\n{item.Prompt}\nAnswer A:\n{a}\nAnswer B:\n{b}"), item.Assignment, item.Task, cancellationToken).ConfigureAwait(false);
        var (winner, why) = Verdict.ReadPairwise(verdict);
        var won = winner switch { 'A' => judgedFirst ? 1d : 0d, 'B' => judgedFirst ? 0d : 1d, _ => 0.5 };
        return new LlmJudgement(item.RecordId, item.Assignment.Experiment, item.Assignment.Arm, item.Task, won, why, time.GetUtcNow(), item.Opponent.Name);
    }

    private byte[] JudgeBody(string instructions, string content) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["model"] = options.Value.Model!,
        ["temperature"] = 0,
        ["max_tokens"] = 400,
        ["messages"] = new object[] { new { role = "system", content = instructions }, new { role = "user", content } },
    });

    /// <summary>The judged call's request for <paramref name="model"/>, whole rather than streamed.</summary>
    private static byte[] Replay(LlmRequest request, string model)
    {
        var body = new ArrayBufferWriter<byte>();
        Protocols.LlmCodec.For(LlmProtocol.OpenAIChat).WriteRequest(request, model, Protocols.OpenAI.OpenAIDialect.None, 4096, new Protocols.TranslationState(), body);
        var json = JsonNode.Parse(body.WrittenSpan)!.AsObject();
        json["stream"] = false;
        json.Remove("stream_options");
        return JsonSerializer.SerializeToUtf8Bytes(json);
    }

    /// <summary>One chat call in process, as the judge (metered to <paramref name="judged"/>), and its answer's text.</summary>
    private async Task<string> CompleteAsync(byte[] body, LlmExperimentAssignment judged, string? task, CancellationToken cancellationToken)
    {
        var (status, answer) = await InProcessCall.SendAsync(services, "/v1/chat/completions", body, features =>
        {
            features.Set(new LlmCallerFeature(Judge));
            features.Set(new JudgeCallFeature(judged));
            if (task is not null)
            {
                features.Set(new LlmTaskAttribute(task));
            }
        }, http => framing.HandleChatAsync(http, LlmProtocol.OpenAIChat), cancellationToken).ConfigureAwait(false);
        using (answer)
        {
            return status is < 200 or >= 300
                ? throw new InvalidOperationException($"The call to '{JsonDocument.Parse(body).RootElement.GetProperty("model").GetString()}' failed ({status}): {InProcessCall.ErrorMessage(answer)}")
                : answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "";
        }
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Warning, "The judge could not score an answer of experiment {Experiment}, arm {Arm}.", EventName = "JudgeFailed")]
        public static partial void JudgeFailed(ILogger logger, string experiment, string arm, Exception exception);
    }
}
