using System.Diagnostics.Metrics;
using System.Text;
using System.Threading.Channels;
using LlmMiddleware.Metering;
using LlmMiddleware.Protocols;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Experiments.Judging;

/// <summary>An answer waiting to be judged: the call's record id, arm, task, request (to replay it to another arm for a
/// pairwise verdict), prompt and answer as text, and the arm to compare it with.</summary>
internal sealed record JudgeItem(Guid RecordId, LlmExperimentAssignment Assignment, string? Task, LlmRequest Request, string Prompt, string Answer, (string Name, string Model) Opponent);

/// <summary>
/// Picks the experiment calls to judge (<see cref="LlmJudgeOptions.SampleRate"/>), keeps what they answered, and once
/// each has succeeded hands it to the judge through a bounded queue: when the queue is full the sample is dropped,
/// never the caller delayed. Counted in <c>llm_gateway.judge.samples</c> by outcome (queued, dropped).
/// </summary>
internal sealed class JudgeSampler
{
    private readonly LlmJudgeOptions _options;
    private readonly Channel<JudgeItem> _queue;
    private readonly Counter<long> _samples;

    public JudgeSampler(IOptions<LlmJudgeOptions> options, IMeterFactory meters)
    {
        _options = options.Value;
        _queue = Channel.CreateBounded<JudgeItem>(new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = false });
        _samples = meters.Create("LlmMiddleware").CreateCounter<long>("llm_gateway.judge.samples", "{answer}", "Experiment answers sampled for the judge, by llm_gateway.judge.outcome: queued, or dropped (the queue was full).");
    }

    public bool IsOn => _options.Model is not null && _options.SampleRate > 0;

    public ChannelReader<JudgeItem> Queue => _queue.Reader;

    /// <summary>Samples <paramref name="context"/>, assigned an arm, at the configured rate.</summary>
    public void Consider(LlmRequestContext context, ExperimentSplit experiment, int arm)
    {
        if (!IsOn || Random.Shared.NextDouble() >= _options.SampleRate)
        {
            return;
        }

        var answer = new Capture(experiment.Arms[arm == experiment.ControlIndex ? (arm + 1) % experiment.Arms.Length : experiment.ControlIndex]);
        context.Observe(answer);
        context.OnCompleted(static (call, state) =>
        {
            var (sampler, answer) = ((JudgeSampler, Capture))state!;
            using (answer)
            {
                if (call is { Error: null, Record: { Status: LlmCallStatus.Succeeded } record, Experiment: { } assignment })
                {
                    // Queued once the response has gone out, so the judge does not compete with the call for the CPU
                    // while it finishes.
                    call.HttpContext.Response.OnCompleted(Enqueue, (sampler, new JudgeItem(record.Id, assignment, call.Task, call.Request, PromptOf(call.Request), answer.ToText(), answer.Opponent)));
                }
            }

            return ValueTask.CompletedTask;
        }, (this, answer));
    }

    private static readonly Func<object, Task> Enqueue = static state =>
    {
        var (sampler, item) = ((JudgeSampler, JudgeItem))state;
        var queued = sampler._queue.Writer.TryWrite(item);
        sampler._samples.Add(1, new KeyValuePair<string, object?>("llm_gateway.judge.outcome", queued ? "queued" : "dropped"));
        return Task.CompletedTask;
    };

    /// <summary>The request as the judge reads it: its system text and messages, a line per part.</summary>
    private static string PromptOf(LlmRequest request)
    {
        var text = new StringBuilder();
        foreach (var part in request.System)
        {
            text.Append("[system] ").AppendLine(part.Text);
        }

        foreach (var message in request.Messages)
        {
            foreach (var part in message.Content.OfType<LlmTextPart>())
            {
                text.Append('[').Append(message.Role.ToString().ToLowerInvariant()).Append("] ").AppendLine(part.Text);
            }
        }

        return text.ToString();
    }

    /// <summary>The answer's text as it streams or arrives whole (always wanted, unlike metering's own capture).</summary>
    private sealed class Capture((string Name, string Model) opponent) : ILlmResponseObserver, IDisposable
    {
        private readonly DeliveredOutput _text = new();

        public (string Name, string Model) Opponent => opponent;

        public bool WantsContent(in LlmUsage usage) => true;

        public string ToText() => _text.ToText();

        public void Start(string id, string model)
        {
        }

        public void Text(ReadOnlySpan<byte> jsonString) => _text.AppendLiteral(jsonString);

        public void Reasoning(ReadOnlySpan<byte> jsonString)
        {
        }

        public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
        {
        }

        public void ToolCallStart(int index, string id, string name)
        {
        }

        public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
        {
        }

        public void Usage(in LlmUsage usage)
        {
        }

        public void Finish(LlmFinishReason reason, string? stopSequence)
        {
        }

        public void Error(LlmError error)
        {
        }

        public void Complete()
        {
        }

        public void Dispose() => _text.Dispose();
    }
}
