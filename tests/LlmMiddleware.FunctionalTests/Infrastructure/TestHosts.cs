using Microsoft.AspNetCore.Builder;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// Test servers start from an empty content root, so no appsettings.json that happens to sit in the test output (the
/// referenced samples bring theirs) can add providers, models or proxy routes behind a test's back.
/// </summary>
internal static class TestHosts
{
    private static readonly string EmptyContentRoot = Directory.CreateTempSubdirectory("llm-tests-").FullName;

    public static WebApplicationOptions Options => new() { ContentRootPath = EmptyContentRoot, EnvironmentName = "Testing" };
}
