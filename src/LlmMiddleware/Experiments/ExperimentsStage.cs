using System.Text.Json;
using LlmMiddleware.Experiments.Judging;
using LlmMiddleware.Experiments.Reports;
using LlmMiddleware.Identity;
using LlmMiddleware.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Experiments;

/// <summary>
/// Labels each call with its task (<c>x-llm-task</c>, the OpenAI body's <c>metadata.task</c>, the route's, else the experiment's)
/// and assigns a call naming an experiment to one of its arms — sticky per caller, or the arm its caller picks with
/// <c>x-llm-arm</c> — then sends it there. The arm is on the call's record, span and <c>x-llm-experiment</c> /
/// <c>x-llm-arm</c> response headers. Only the route changes, so calls still pass through untranslated where they can.
/// </summary>
internal sealed class ExperimentsStage(ExperimentBook book, CallerIdentities callers, JudgeSampler judge, ExperimentStats? stats, IServiceProvider services, TimeProvider time) : LlmCallStage
{
    private CallPreparation? _preparation; // resolved on first use: preparation is built from the pipeline this stage is in

    public const string TaskHeader = "x-llm-task";
    public const string ArmHeader = "x-llm-arm";
    public const string SessionHeader = "x-llm-session";
    public const string ExperimentHeader = "x-llm-experiment";

    public override bool EditsRequest => false;

    internal override bool PassesThrough(LlmRequestContext context) => book.IsEmpty;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        context.Task = TaskOf(context) ?? context.Task; // the call's own label over its route's
        if (context.IsJudgeCall)
        {
            if (stats is not null)
            {
                context.OnCompleted(Tally, stats); // the judge's spend, for the report
            }

            return next(context, cancellationToken);
        }

        if (book.For(context.RequestedModel) is not { } experiment || context.UpstreamState is not PreparedCall call)
        {
            return next(context, cancellationToken);
        }

        context.Task ??= experiment.Settings.Task;
        if (!experiment.IsRunning(time.GetUtcNow()))
        {
            return next(context, cancellationToken); // served by the control arm, as the call was prepared
        }

        var assignment = Assign(context, experiment, out var arm);
        context.Experiment = assignment;
        if (!assignment.Overridden) // an arm picked by hand is a debugging call: not judged, not counted
        {
            judge.Consider(context, experiment, arm);
            if (stats is not null) // null when the ledger counts every instance's calls
            {
                context.OnCompleted(Tally, stats); // after the judge's callback registers, so it runs first: counted before judged
            }
        }

        var headers = context.HttpContext.Response.Headers;
        (headers[ExperimentHeader], headers[ArmHeader]) = (assignment.Experiment, assignment.Arm);
        if (arm == experiment.ControlIndex)
        {
            return next(context, cancellationToken);
        }

        var rerouted = (_preparation ??= services.GetRequiredService<CallPreparation>()).RerouteAsync(context, call, experiment.Arms[arm].Model, cancellationToken);
        return rerouted.IsCompletedSuccessfully ? next(context, cancellationToken) : RerouteThenAsync(rerouted, context, next, cancellationToken);
    }

    private static readonly Func<LlmRequestContext, object?, ValueTask> Tally = static (context, stats) =>
    {
        ((ExperimentStats)stats!).Add(context);
        return ValueTask.CompletedTask;
    };

    private static async ValueTask RerouteThenAsync(ValueTask rerouted, LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        await rerouted.ConfigureAwait(false);
        await next(context, cancellationToken).ConfigureAwait(false);
    }

    private LlmExperimentAssignment Assign(LlmRequestContext context, ExperimentSplit experiment, out int arm)
    {
        var http = context.HttpContext.Request.Headers;
        if (experiment.Settings.AllowOverride && http[ArmHeader] is [{ } picked])
        {
            arm = Array.FindIndex(experiment.Arms, a => a.Name == picked);
            return arm < 0
                ? throw Invalid($"The experiment '{experiment.Name}' has no arm '{picked}'; its arms: {string.Join(", ", experiment.Arms.Select(a => a.Name))}.", ArmHeader)
                : experiment.AssignmentTo(arm, overridden: true);
        }

        var caller = callers.Of(context);
        var subject = experiment.Settings.StickyBy switch
        {
            LlmExperimentStickiness.None => null,
            LlmExperimentStickiness.User => caller.User ?? context.Request.User ?? caller.Key,
            LlmExperimentStickiness.Session => http[SessionHeader] is [{ Length: > 0 } session] ? session : caller.Key,
            _ => caller.Key,
        };
        arm = experiment.Assign(subject);
        return experiment.AssignmentTo(arm, overridden: false);
    }

    /// <summary>The task a call names: the <c>x-llm-task</c> header, else the OpenAI body's <c>metadata.task</c>.</summary>
    private static string? TaskOf(LlmRequestContext context)
    {
        var task = context.HttpContext.Request.Headers[TaskHeader] is [{ } header] ? header : MetadataTask(context.Request);
        return task is null || (task.Length is > 0 and <= 64 && !task.Any(char.IsControl))
            ? task
            : throw Invalid("A task label must be 1-64 characters without control characters.", TaskHeader);
    }

    private static string? MetadataTask(LlmRequest request)
    {
        if (request.UnmodeledFields?.Find(f => f.Key == "metadata").Value is not { } metadata)
        {
            return null;
        }

        using var json = JsonDocument.Parse(metadata);
        return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("task"u8, out var task) && task.ValueKind == JsonValueKind.String
            ? task.GetString()
            : null;
    }

    private static LlmGatewayException Invalid(string message, string param) =>
        new(new LlmError(LlmErrorKind.InvalidRequest, message) { Param = param });
}
