using LlmMiddleware;
using LlmMiddleware.Experiments;
using LlmMiddleware.Experiments.Judging;
using LlmMiddleware.Experiments.Reports;
using LlmMiddleware.Identity;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Upstream;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers experiments.</summary>
public static class LlmExperimentsGatewayBuilderExtensions
{
    /// <summary>
    /// Runs A/B tests over models (bound to <c>LlmGateway:Experiments:&lt;name&gt;</c>, then <paramref name="configure"/>):
    /// a call naming an experiment's model is served by one of its arms, split by weight and sticky per key, user or
    /// session on every instance; the default pipeline assigns it right after virtual keys. The arm is on the call's
    /// record, span and response headers; <see cref="LlmExperiments"/> starts and stops experiments at run time. With
    /// <c>LlmGateway:Judge:Model</c> set, a judge model scores a sample of the arms' answers off the calls' path
    /// (<see cref="LlmJudgeOptions"/>), its verdicts kept in the <see cref="ILlmJudgementStore"/>.
    /// </summary>
    public static ILlmGatewayBuilder AddExperiments(this ILlmGatewayBuilder builder, Action<LlmExperimentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<LlmExperimentOptions>();
        if (!services.Any(d => d.ServiceType == typeof(ExperimentBook)))
        {
            options.Configure<IConfiguration>((o, config) => config.GetSection(LlmExperimentOptions.SectionName).Bind(o.Experiments)).ValidateOnStart();
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmExperimentOptions>, LlmExperimentOptionsValidator>());
        services.AddOptions<LlmJudgeOptions>().BindConfiguration(LlmJudgeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<JudgeSampler>();
        services.TryAddSingleton<ExperimentStats>();
        services.TryAddSingleton<IExperimentTallies>(sp => sp.GetRequiredService<ExperimentStats>());
        services.TryAddSingleton<ExperimentReporter>();
        services.TryAddSingleton<ILlmJudgementStore, InMemoryJudgementStore>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JudgeWorker>());
        services.TryAddSingleton<ExperimentBook>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelRedirect, ExperimentBook>(sp => sp.GetRequiredService<ExperimentBook>()));
        services.TryAddSingleton(sp => new LlmExperiments(sp.GetRequiredService<ExperimentBook>(), sp.GetRequiredService<ExperimentReporter>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddKeyedSingleton<LlmCallStage>(BuiltInStages.Experiments, static (sp, _) => new ExperimentsStage(
            sp.GetRequiredService<ExperimentBook>(), sp.GetRequiredService<CallerIdentities>(), sp.GetRequiredService<JudgeSampler>(), sp.GetRequiredService<IExperimentTallies>() as ExperimentStats, sp, sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
