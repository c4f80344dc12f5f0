using System.Collections.Concurrent;
using System.Diagnostics;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// Servers the tests start (PostgreSQL, Redis) come from Debian packages. A missing one is installed once per run when
/// the run can (root, apt-get), so the README's test command alone passes on a fresh machine; otherwise the test
/// fails with a message naming the package.
/// </summary>
public static class DebianPackages
{
    private static readonly ConcurrentDictionary<string, Lazy<Task>> Installs = new();
    private static readonly SemaphoreSlim Apt = new(1, 1);
    private static bool _updated;

    /// <summary>Makes sure <paramref name="executable"/> exists, installing <paramref name="package"/> if it must.</summary>
    public static Task EnsureAsync(string package, string executable) =>
        File.Exists(executable) ? Task.CompletedTask : Installs.GetOrAdd(package, _ => new Lazy<Task>(() => InstallAsync(package, executable))).Value;

    private static async Task InstallAsync(string package, string executable)
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
        {
            throw new InvalidOperationException($"The tests need Debian's '{package}' package ({executable} is missing). Install it with 'apt-get install {package}' as root, or run the tests as root so they can.");
        }

        await Apt.WaitAsync();
        try
        {
            if (!_updated)
            {
                await RunAsync("apt-get", "update", "-qq");
                _updated = true;
            }

            await RunAsync("apt-get", "install", "-y", "-qq", "--no-install-recommends", package);
        }
        finally
        {
            Apt.Release();
        }

        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Installing Debian's '{package}' package did not provide {executable}.");
        }
    }

    /// <summary>Runs a program to its end; a non-zero exit is an error carrying its output.</summary>
    public static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await output}{await error}");
        }
    }
}
