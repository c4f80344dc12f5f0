using System.Reflection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace LlmMiddleware.Tests.Hosting;

/// <summary>Every log event of the library has its own event id, so operators can filter and alert on one.</summary>
public sealed class LogEventTests
{
    [Fact]
    public void EveryLogEventHasADistinctId()
    {
        var events = typeof(LlmRequestContext).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();

        Assert.NotEmpty(events);
        var shared = events.GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => $"{e.Method.DeclaringType!.DeclaringType?.Name}.{e.Method.Name}"))}");
        Assert.Empty(shared);
    }
}
